// docs/performance.md holds the table bench/performance-table.ts makes from bench/results/latest.json, as
// `npm run bench:table -- --check` says; the bench writes it there at the end of a full run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('the performance table', () => {
  it('sits between its markers in docs/performance.md', () => {
    const page = readFileSync(new URL('../docs/performance.md', import.meta.url), 'utf8');
    const start = page.indexOf('<!-- bench-table: made by bench/performance-table.ts');
    assert.ok(start >= 0 && page.indexOf('<!-- /bench-table -->') > start);
  });

  it('is the table latest.json makes', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/performance-table.ts', '--check'], { cwd: ROOT });
    assert.match(stdout, /^docs\/performance.md: the performance table matches/);
  });
});
