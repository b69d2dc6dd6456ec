// The gateways build on the public gateway entry alone: a module under gateway-http/ or gateway-wamp/ imports from
// mesh/ only through mesh/gateway.ts (or mesh/index.ts), as a gateway written outside this repository must.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GATEWAYS = ['gateway-http', 'gateway-wamp'];
const ENTRIES = new Set(['mesh/gateway.ts', 'mesh/index.ts']);

/** Every module specifier a file names, as the TypeScript compiler reads them: imports, `export ... from`, `import()`, `import type`. */
export function specifiersOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((file) => file.fileName);
}

/** The imports of a folder's modules (recursively) that reach into mesh/ past its entries, as "file -> target". */
function backDoorImports(folder: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })) {
    if (!name.endsWith('.ts')) continue;
    const file = join(ROOT, folder, name);
    for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = relative(ROOT, resolve(dirname(file), specifier));
      if (target.startsWith('mesh/') && !ENTRIES.has(target)) found.push(`${folder}/${name} -> ${target}`);
    }
  }
  return found;
}

describe('the gateways build on nats-mesh/gateway', () => {
  it('reads every kind of import a module can write', () => {
    const source = [
      "import { a } from '../mesh/wire/a.ts';",
      "import type { B } from '../mesh/b.ts';",
      "export { c } from '../mesh/c.ts';",
      "export * from '../mesh/d.ts';",
      "const e = await import('../mesh/e.ts');",
      "import '../mesh/f.ts';",
      "// import { g } from '../mesh/g.ts';",
      'const h = "from \'../mesh/h.ts\'";',
    ].join('\n');
    assert.deepEqual(specifiersOf(source), ['../mesh/wire/a.ts', '../mesh/b.ts', '../mesh/c.ts', '../mesh/d.ts', '../mesh/e.ts', '../mesh/f.ts']);
  });

  for (const folder of GATEWAYS) {
    it(`${folder}/ imports from mesh/ only through gateway.ts or index.ts`, () => {
      assert.deepEqual(backDoorImports(folder), []);
    });
  }
});
