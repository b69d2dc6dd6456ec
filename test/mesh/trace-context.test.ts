// Reading a W3C `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header): what a hop continues,
// and every malformed value that must start a fresh trace instead.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTraceparent } from '../../mesh/observability/trace-context.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('reads the trace id, the parent span id and the flags', () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`), { traceId: TRACE_ID, spanId: SPAN_ID, flags: '01' });
    assert.deepEqual(parseTraceparent(` 00-${TRACE_ID}-${SPAN_ID}-00 `), { traceId: TRACE_ID, spanId: SPAN_ID, flags: '00' });
  });

  it('reads a later version with more fields after a dash, as the specification asks', () => {
    assert.deepEqual(parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`), { traceId: TRACE_ID, spanId: SPAN_ID, flags: '01' });
  });

  const malformed: [string, string | undefined][] = [
    ['absent', undefined],
    ['empty', ''],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['version 00 with trailing data', `00-${TRACE_ID}-${SPAN_ID}-01-extra`],
    ['a later version with trailing data not after a dash', `cc-${TRACE_ID}-${SPAN_ID}-01extra`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['a long span id', `00-${TRACE_ID}-${SPAN_ID}0-01`],
    ['a wrong separator', `00_${TRACE_ID}-${SPAN_ID}-01`],
    ['one flag digit', `00-${TRACE_ID}-${SPAN_ID}-1`],
    ['a line break in the trailing data', `cc-${TRACE_ID}-${SPAN_ID}-01-a\nb`],
    ['over 512 characters', `cc-${TRACE_ID}-${SPAN_ID}-01-${'x'.repeat(500)}`],
  ];
  for (const [what, value] of malformed) {
    it(`starts afresh on ${what}`, () => assert.equal(parseTraceparent(value), undefined));
  }
});
