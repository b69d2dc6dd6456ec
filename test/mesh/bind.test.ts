// Binding [args, kwargs] to a method's parameters, Python style, read from the method's own source.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bindArguments } from '../../mesh/service/bind.ts';
import { parseEnvelope } from '../../mesh/wire/envelope.ts';
import { MeshError } from '../../mesh/wire/errors.ts';
import { readParameters } from '../../mesh/service/signature.ts';

class Example {
  async hello(first_name: string, last_name = '') {
    return `${first_name} ${last_name}`;
  }
  async tricky(a: string, b = { x: '(', y: [1, 2] }, c = (z: number) => z * 2, ...rest: unknown[]) {
    return [a, b, c, rest];
  }
}

const params = readParameters(Example.prototype.hello);
const invalid = (pattern: RegExp) => (err: unknown) => err instanceof MeshError && err.code === 'INVALID_ARGUMENT' && pattern.test(err.message);

describe('readParameters', () => {
  it('reads names and defaults of a compiled method', () => {
    assert.deepEqual(params, [
      { name: 'first_name', optional: false, rest: false },
      { name: 'last_name', optional: true, rest: false },
    ]);
  });

  it('is not fooled by parentheses and commas inside default values', () => {
    assert.deepEqual(
      readParameters(Example.prototype.tricky).map((p) => [p.name, p.optional, p.rest]),
      [
        ['a', false, false],
        ['b', true, false],
        ['c', true, false],
        ['rest', false, true],
      ],
    );
  });

  it('refuses destructured parameters, which have no name to bind', () => {
    assert.throws(
      () =>
        readParameters(function f({ a }: { a: number }) {
          return a;
        }),
      /destructured/,
    );
  });
});

describe('bindArguments', () => {
  it('binds positional and keyword arguments, leaving defaults in force', () => {
    assert.deepEqual(bindArguments('s.hello', params, ['Bob'], { last_name: 'Ross' }), ['Bob', 'Ross']);
    assert.deepEqual(bindArguments('s.hello', params, [], { first_name: 'Bob' }), ['Bob', undefined]);
  });

  it('names a missing required parameter', () => {
    assert.throws(() => bindArguments('s.hello', params, [], { last_name: 'x' }), invalid(/missing required argument 'first_name'/));
  });

  it('names an unknown keyword argument', () => {
    assert.throws(() => bindArguments('s.hello', params, ['Bob'], { middle: 'x' }), invalid(/unknown keyword argument 'middle'/));
  });

  it('refuses a parameter given twice', () => {
    assert.throws(() => bindArguments('s.hello', params, ['Bob'], { first_name: 'x' }), invalid(/multiple values for argument 'first_name'/));
  });

  it('refuses too many positional arguments unless there is a rest parameter', () => {
    assert.throws(() => bindArguments('s.hello', params, ['a', 'b', 'c'], {}), invalid(/at most 2 positional arguments, got 3/));
    const rest = readParameters(Example.prototype.tricky);
    assert.deepEqual(bindArguments('s.tricky', rest, ['a', 'b', 'c', 'd', 'e'], {}), ['a', 'b', 'c', 'd', 'e']);
  });
});

describe('parseEnvelope', () => {
  it('accepts [args, kwargs], [args], [] and an empty payload', () => {
    assert.deepEqual(parseEnvelope([['a'], { b: 1 }]), [['a'], { b: 1 }]);
    assert.deepEqual(parseEnvelope([['a']]), [['a'], {}]);
    assert.deepEqual(parseEnvelope([]), [[], {}]);
    assert.deepEqual(parseEnvelope(undefined), [[], {}]);
  });

  it('refuses every other shape, saying which part is wrong', () => {
    assert.throws(() => parseEnvelope({ args: [] }), invalid(/must be an array/));
    assert.throws(() => parseEnvelope('hello'), invalid(/must be an array/));
    assert.throws(() => parseEnvelope([[], {}, 3]), invalid(/array of 3 items/));
    assert.throws(() => parseEnvelope(['Bob']), invalid(/args \(payload\[0\]\) must be an array/));
    assert.throws(() => parseEnvelope([[], []]), invalid(/kwargs \(payload\[1\]\) must be an object/));
    assert.throws(() => parseEnvelope([[], null]), invalid(/kwargs/));
  });
});
