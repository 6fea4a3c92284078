// A handle on one memory space of a trace.
import type { SpaceData } from '../core/types.js';
import type { Trace } from './trace.js';

export class SpaceHandle {
  readonly id: string;
  readonly #trace: Trace;

  /** @internal use trace.createSpace() */
  constructor(trace: Trace, id: string) {
    this.#trace = trace;
    this.id = id;
  }

  get data(): Readonly<SpaceData> | undefined {
    return this.#trace.listSpaces().find((s) => s.id === this.id);
  }

  set(key: string, value: unknown, options?: { title?: string }): this {
    this.#trace.setSpaceValue(this.id, key, value, options);
    return this;
  }
  get(key: string): unknown {
    return this.#trace.getSpaceValue(this.id, key);
  }
  has(key: string): boolean {
    return this.#trace.hasSpaceValue(this.id, key);
  }
  delete(key: string): boolean {
    return this.#trace.deleteSpaceValue(this.id, key);
  }
  clear(): this {
    this.#trace.clearSpaceValues(this.id);
    return this;
  }
  keys(): string[] {
    return this.#trace.listSpaceKeys(this.id);
  }
}
