// docs/testing.md shows the sample service and test exactly as `mesh init` writes them (test/package.test.ts runs them).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { projectFiles } from '../../mesh/cli/init.ts';

const PAGE = readFileSync(new URL('../../docs/testing.md', import.meta.url), 'utf8');

describe('docs/testing.md', () => {
  it("shows mesh init's sample service and its test verbatim", () => {
    const files = projectFiles('my-mesh', { name: 'nats-mesh', version: '0.1.0', dependencies: { tsx: '4' } });
    const shown = new Map([...PAGE.matchAll(/```ts title="([^"]+)"\n([\s\S]*?)```/g)].map(([, path, code]) => [path!, code!]));
    assert.deepEqual([...shown.keys()], ['services/hello/index.ts', 'test/hello.test.ts']);
    for (const [path, code] of shown) assert.equal(code, files.get(path), path);
  });
});
