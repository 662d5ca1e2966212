/**
 * What SHA-1 and SHA-256 share: 64-byte blocks fed from chunks of any size,
 * and the final padding (a 1 bit, zeros, the message length in bits as a
 * 64-bit big-endian number). Subclasses compress one block into `state`.
 */
export abstract class MerkleDamgard {
  /** The chaining value, as signed 32-bit words (V8 keeps those unboxed; unsigned ones past 2^31 are not). */
  protected abstract readonly state: Int32Array;
  /** The message schedule; {@link compress} finds the block's 16 big-endian words at its start. */
  protected abstract readonly w: Int32Array;
  private readonly pending = new Uint8Array(64);
  private filled = 0;
  private length = 0;

  /** Compresses the block whose words are at the start of {@link w} into {@link state}. */
  protected abstract compress(): void;

  private block(bytes: Uint8Array, at: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++, at += 4) w[i] = (bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3];
    this.compress();
  }

  /** Feeds more bytes. */
  update(data: Uint8Array): void {
    this.length += data.byteLength;
    let at = 0;
    if (this.filled > 0) {
      at = Math.min(64 - this.filled, data.byteLength);
      this.pending.set(data.subarray(0, at), this.filled);
      this.filled += at;
      if (this.filled < 64) return;
      this.block(this.pending, 0);
      this.filled = 0;
    }
    for (; at + 64 <= data.byteLength; at += 64) this.block(data, at);
    this.pending.set(data.subarray(at));
    this.filled = data.byteLength - at;
  }

  /** Pads, finishes and returns the digest in lowercase hex; the hasher is spent afterwards. */
  hex(): string {
    const bits = this.length * 8;
    const tail = new Uint8Array(this.filled < 56 ? 64 - this.filled : 128 - this.filled);
    tail[0] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(tail.length - 4, bits >>> 0);
    this.update(tail);
    return Array.from(this.state, (x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
  }
}
