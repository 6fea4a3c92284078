// Per-key chains of operations: the operations of one key run one after the other (in
// call order, each starting after the previous one settled); different keys run freely.
// The FileStore keys by trace id so that appends, archive and remove of one trace never
// overlap; the write API so that the batches of one trace apply in order.
export class SerialQueue {
  /** Key -> the settled tail of its chain; present only while an operation is queued or running. */
  readonly #tails = new Map<string, Promise<void>>();
  /** Called when a key's chain runs empty. */
  readonly #onIdle: (key: string) => void;

  constructor(onIdle: (key: string) => void = () => undefined) {
    this.#onIdle = onIdle;
  }

  /** Runs `fn` after the operations queued for `key`; its result (or failure) is the caller's. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key);
    const run = prev ? prev.then(fn, fn) : fn();
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) {
        this.#tails.delete(key);
        this.#onIdle(key);
      }
    });
    return run;
  }

  /** True while an operation of `key` is queued or running. */
  busy(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Settles once the operations queued so far for `key` have settled. */
  idle(key: string): Promise<void> {
    return this.#tails.get(key) ?? Promise.resolve();
  }

  /** Settles once every operation queued so far has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#tails.values()]);
  }
}
