// The framework's folders import one way, in the order docs/architecture.md lists them: a module
// may import from its own folder and from folders before it, never from one after it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MESH = fileURLToPath(new URL('../../mesh/', import.meta.url));
const ORDER = ['wire', 'process', 'observability', 'auth', 'edge', 'resilience', 'calling', 'tasks', 'service', 'testing', 'cli'];
const IMPORT = /(?:from|import)\s*\(?\s*'(\.[^']+)'/g;

/** Every relative import in a folder's modules that reaches a folder later in ORDER, as "file -> target". */
function upwardImports(folder: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(join(MESH, folder)).filter((file) => file.endsWith('.ts'))) {
    const file = join(MESH, folder, name);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = relative(MESH, resolve(dirname(file), specifier!));
      if (ORDER.indexOf(target.split('/')[0]!) > ORDER.indexOf(folder)) found.push(`${folder}/${name} -> ${target}`);
    }
  }
  return found;
}

describe('mesh/ folders', () => {
  it('are exactly the ones the architecture lists, besides the entry points', () => {
    const folders = readdirSync(MESH, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    assert.deepEqual(folders.sort(), [...ORDER].sort());
    const files = readdirSync(MESH, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
    assert.deepEqual(files.sort(), ['cli.ts', 'gateway.ts', 'index.ts', 'testing.ts']);
  });

  for (const folder of ORDER) {
    it(`${folder}/ imports nothing from a folder after it`, () => {
      assert.deepEqual(upwardImports(folder), []);
    });
  }
});
