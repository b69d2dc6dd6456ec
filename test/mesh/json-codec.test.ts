// The JSON codec on payloads that could mislead its cheap looks: the depth it measures on the text (brackets inside
// strings, quotes after backslashes) or on the value (a toJSON), and what it parses exactly (integers past 2^53, NUL strings).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonCodec, MAX_DEPTH } from '../../mesh/gateway.ts';
import { MeshError } from '../../mesh/wire/errors.ts';

const bytesOf = (text: string) => Buffer.from(text, 'utf8');
const tooDeep = (err: unknown) => err instanceof MeshError && err.code === 'INVALID_ARGUMENT' && /nested deeper than/.test(err.message);

/** Strings that hold brackets, an escaped quote before brackets, and backslashes just before their closing quote. */
const TRICKY = ['[[{{', 'a quote " then [[[[ {{{{', 'ends in a backslash \\', '\\', '\\\\" [[[['];

/** `levels` arrays one inside another, the innermost holding the tricky strings, the outermost a backslash-ended one first. */
function nested(levels: number): unknown {
  let value: unknown = [...TRICKY];
  for (let level = 2; level < levels; level++) value = [value];
  return ['ends in a backslash \\', value];
}

describe('the JSON codec', () => {
  it('counts no bracket inside a string, whatever backslashes come before its quotes', () => {
    const text = JSON.stringify(nested(MAX_DEPTH));
    assert.deepEqual(jsonCodec.decode(bytesOf(text)), nested(MAX_DEPTH));
    assert.throws(() => jsonCodec.decode(bytesOf(JSON.stringify(nested(MAX_DEPTH + 1)))), tooDeep);
    assert.throws(() => jsonCodec.encode(nested(MAX_DEPTH + 1)), tooDeep);
  });

  it('refuses text too deep for its depth even when it is not JSON either', () => {
    assert.throws(() => jsonCodec.decode(bytesOf(JSON.stringify(nested(MAX_DEPTH + 1)).slice(0, -1))), tooDeep);
    assert.throws(
      () => jsonCodec.decode(bytesOf(JSON.stringify(nested(MAX_DEPTH)).slice(0, -1))),
      (err: unknown) => err instanceof MeshError && err.code === 'INVALID_ARGUMENT' && /not valid JSON/.test(err.message),
    );
  });

  it('measures what a toJSON writes, not the object that has it', () => {
    const writesDeep = { toJSON: () => nested(MAX_DEPTH - 1) };
    assert.deepEqual(jsonCodec.decode(jsonCodec.encode([writesDeep])), [nested(MAX_DEPTH - 1)]);
    assert.throws(() => jsonCodec.encode([[writesDeep], {}]), tooDeep);
  });

  it('reads integers past 2^53 as bigints and NUL strings as bytes, and leaves every look-alike as it is', () => {
    const decoded = (text: string) => jsonCodec.decode(bytesOf(text));
    assert.deepEqual(decoded('[[9007199254740993,-9223372036854775808,12345678901234.5,1e20,"12345678901234567"],{}]'), [
      [9007199254740993n, -(2n ** 63n), 12345678901234.5, 1e20, '12345678901234567'],
      {},
    ]);
    assert.deepEqual(decoded('[[],{"k":{"n":18446744073709551615}}]'), [[], { k: { n: 2n ** 64n - 1n } }]);
    assert.deepEqual(decoded('[["\\u0000AAEC","a\\u0000"],{}]'), [[Uint8Array.of(0, 1, 2), 'a\u0000'], {}]);
    assert.deepEqual(decoded('[[9007199254740991,"x"],{}]'), [[9007199254740991, 'x'], {}]);
  });

  it('refuses a string starting with NUL that is not base64', () => {
    assert.throws(
      () => jsonCodec.decode(bytesOf('[["\\u0000!!"],{}]')),
      (err: unknown) => err instanceof MeshError && err.code === 'INVALID_ARGUMENT' && /must be standard base64/.test(err.message),
    );
  });
});
