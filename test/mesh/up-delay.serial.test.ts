// How long `mesh up` waits before restarting a process that keeps dying: doubling from the first delay, capped.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { restartDelay } from '../../mesh/cli/up.ts';

it('doubles the restart delay for each failure in a row, up to the cap', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 10].map((failures) => restartDelay(failures, 1000, 30_000)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
  );
});
