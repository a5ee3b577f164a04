/**
 * Runs the functions given for one key one after another, in the order they were given;
 * different keys run freely. The map holds a key only while something of it runs or waits.
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before ? before.then(() => mine) : mine;
    this.#tails.set(key, tail);
    try {
      if (before) await before;
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys running or waiting now. */
  get size(): number {
    return this.#tails.size;
  }
}
