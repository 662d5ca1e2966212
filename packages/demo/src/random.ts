import { philoxUniform, rngStreamId } from '@lorafuse/core';

/**
 * A seeded sequence of uniform numbers: the core Philox stream of `seed`
 * and a name, read element after element, so every generator the demo
 * derives from a name draws the same values on every machine.
 */
export class SeededRandom {
  readonly #seed: number;
  readonly #stream: number;
  #index = 0;

  constructor(seed: number, name: string) {
    this.#seed = seed;
    this.#stream = rngStreamId(name);
  }

  /** The next uniform number in `[0, 1)`. */
  next(): number {
    return philoxUniform(this.#seed, this.#stream, this.#index++);
  }

  /** An integer in `[min, max]`. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of `items` (not empty). */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** Two different elements of `items` (at least two). */
  pickTwo<T>(items: readonly T[]): [T, T] {
    const i = Math.floor(this.next() * items.length);
    const j = (i + 1 + Math.floor(this.next() * (items.length - 1))) % items.length;
    return [items[i], items[j]];
  }
}
