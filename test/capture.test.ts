import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capture, captureError, TRUNCATED } from '../src/core/capture.js';

describe('value capture', () => {
  it('serializes anything JavaScript can hold, safely and predictably', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular['self'] = circular;
    const err = Object.assign(new Error('bad', { cause: new Error('root cause') }), { code: 'E_BAD', extra: 1 });
    const input = {
      circular,
      big: 12345678901234567890n,
      err,
      map: new Map<unknown, unknown>([
        ['a', 1],
        [{ k: 1 }, new Set([1, 2])],
      ]),
      set: new Set(['x']),
      date: new Date(0),
      bad: new Date(NaN),
      bytes: new Uint8Array([1, 2, 3]),
      floats: new Float64Array([1.5]),
      fn: function namedFn() {},
      sym: Symbol('s'),
      undef: undefined,
      list: [undefined, 1, () => 0],
      nan: NaN,
      inf: -Infinity,
      re: /x+/g,
    };
    const out = capture(input) as Record<string, unknown> & {
      err: { $type: string; message: string; code: string; extra: number; cause: { message: string } };
    };
    assert.deepEqual(out.circular, { name: 'loop', self: { $type: 'circular' } });
    assert.deepEqual(out.big, { $type: 'bigint', value: '12345678901234567890' });
    assert.equal(out.err.$type, 'error');
    assert.equal(out.err.message, 'bad');
    assert.equal(out.err.code, 'E_BAD');
    assert.equal(out.err.extra, 1);
    assert.equal(out.err.cause.message, 'root cause');
    assert.deepEqual(out.map, {
      $type: 'map',
      entries: [
        ['a', 1],
        [{ k: 1 }, { $type: 'set', values: [1, 2] }],
      ],
    });
    assert.deepEqual(out.set, { $type: 'set', values: ['x'] });
    assert.equal(out.date, '1970-01-01T00:00:00.000Z');
    assert.deepEqual(out.bad, { $type: 'date', value: 'Invalid Date' });
    assert.deepEqual(out.bytes, { $type: 'Uint8Array', length: 3, values: [1, 2, 3] });
    assert.deepEqual(out.floats, { $type: 'Float64Array', length: 1, values: [1.5] });
    assert.deepEqual(out.fn, { $type: 'function', name: 'namedFn' });
    assert.deepEqual(out.sym, { $type: 'symbol', description: 's' });
    assert.equal('undef' in out, false);
    assert.deepEqual(out.list, [null, 1, { $type: 'function', name: '(anonymous)' }]);
    assert.deepEqual(out.nan, { $type: 'number', value: 'NaN' });
    assert.deepEqual(out.inf, { $type: 'number', value: '-Infinity' });
    assert.deepEqual(out.re, { $type: 'regexp', value: '/x+/g' });
    assert.deepEqual(JSON.parse(JSON.stringify(out)), out, 'the result is plain JSON');
  });

  it('truncates values over the size limit with a marker', () => {
    const limits = { maxValueSize: 100, maxDepth: 32 };
    const s = capture('y'.repeat(1000), limits) as string;
    assert.ok(s.startsWith('y'.repeat(100)));
    assert.ok(s.includes(TRUNCATED));
    const arr = capture(
      Array.from({ length: 1000 }, (_, i) => i),
      limits,
    ) as unknown[];
    assert.ok(arr.length < 1000);
    assert.match(String(arr.at(-1)), /more items/);
    const obj = capture(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`key${i}`, i])), limits) as Record<
      string,
      unknown
    >;
    assert.match(String(obj['$truncated']), /more keys/);
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 100; i++) deep = deep['d'] = {};
    assert.match(JSON.stringify(capture(top)), /"reason":"depth"/);
    assert.ok(JSON.stringify(capture({ big: 'z'.repeat(200_000) })).length < 70_000);
  });

  it('never throws on hostile objects', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('nope');
        },
      },
    );
    assert.deepEqual(capture(hostile), { $type: 'unserializable', error: 'Error: nope' });
    const getter = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    // A throwing getter loses only its own value.
    assert.deepEqual(capture(getter), { x: { $type: 'unserializable', error: 'Error: getter' } });
    assert.deepEqual(capture({ ['__proto__']: 1, ok: 2 }), JSON.parse('{"__proto__":1,"ok":2}'));
  });

  it('captureError always yields name and message', () => {
    assert.deepEqual(captureError('plain'), { name: 'Error', message: 'plain' });
    assert.deepEqual(captureError(42), { name: 'Error', message: '42' });
    assert.equal(captureError({ message: 'obj', code: 7 }).message, 'obj');
    const e = captureError(new TypeError('t'));
    assert.equal(e.name, 'TypeError');
    assert.equal('$type' in e, false);
  });
});
