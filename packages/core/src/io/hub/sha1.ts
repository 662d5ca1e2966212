import type { Hasher } from './hash.js';
import { MerkleDamgard } from './merkle-damgard.js';

/** SHA-1 fed in pieces: git names a file's blob by it, and the Hub's `ETag` of a small file is that name. */
export class Sha1 extends MerkleDamgard implements Hasher {
  protected readonly state = Int32Array.of(0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0);
  protected readonly w = new Int32Array(80);

  protected compress(): void {
    const w = this.w;
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    const s = this.state;
    let [a, b, c, d, e] = s;
    for (let i = 0; i < 80; i++) {
      let f: number;
      if (i < 20) f = ((b & c) | (~b & d)) + 0x5a827999;
      else if (i < 40) f = (b ^ c ^ d) + 0x6ed9eba1;
      else if (i < 60) f = ((b & c) | (b & d) | (c & d)) + 0x8f1bbcdc;
      else f = (b ^ c ^ d) + 0xca62c1d6;
      const t = (((a << 5) | (a >>> 27)) + f + e + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    s[0] += a;
    s[1] += b;
    s[2] += c;
    s[3] += d;
    s[4] += e;
  }
}
