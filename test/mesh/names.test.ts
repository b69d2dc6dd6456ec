// The one check for names that become NATS subjects: what passes, and why the rest does not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_MAX_NAME_BYTES, nameProblem, quoteName } from '../../mesh/wire/names.ts';

describe('nameProblem', () => {
  it('accepts procedure names, topics and Unicode tokens', () => {
    for (const name of ['greeting_service.hello', 'a', 'a.b.c.d', 'thing-service.get_things', 'café.crème', 'a$b.c']) {
      assert.equal(nameProblem(name), undefined, name);
    }
  });

  it('says why every other name is refused', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['a'.repeat(DEFAULT_MAX_NAME_BYTES + 1), /longer than 256 bytes/],
      ['é'.repeat(DEFAULT_MAX_NAME_BYTES / 2 + 1), /longer than 256 bytes/],
      ['.a', /empty part/],
      ['a.', /empty part/],
      ['a..b', /empty part/],
      ['a b.c', /not allowed/],
      ['a\nb.c', /not allowed/],
      ['a\r.c', /not allowed/],
      ['a\u0000.c', /not allowed/],
      ['a\u200b.c', /not allowed/],
      ['a.\ud800', /not allowed/],
      ['a.*', /not allowed/],
      ['a.>', /not allowed/],
      ['a.#', /not allowed/],
      ['$SRV.PING', /reserved/],
      ['$JS.API.INFO', /reserved/],
      ['_INBOX.abc', /reserved/],
      ['_INBOX_gateway_http.abc', /reserved/],
    ];
    for (const [name, expected] of cases) assert.match(nameProblem(name) ?? 'accepted', expected, JSON.stringify(name.slice(0, 20)));
  });

  it('takes a configured byte limit', () => {
    assert.equal(nameProblem('a.b', 3), undefined);
    assert.match(nameProblem('a.bc', 3)!, /longer than 3 bytes/);
  });

  it('quotes a name for messages, cut short', () => {
    assert.equal(quoteName('a\nb'), '"a\\nb"');
    assert.equal(quoteName('x'.repeat(100), 4), '"xxxx…"');
  });
});
