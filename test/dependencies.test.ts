// The packages the shipped code imports at run time are the package's own dependencies: an installed nats-mesh
// gets no devDependencies, so a module imported from one only loads where some other package happens to bring it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The folders `npm pack` ships as code (package.json `files`, built into dist/), and the CLI's launcher. */
const SHIPPED = ['mesh', 'gateway-http', 'gateway-wamp', 'services', 'bin'];
/** A value import (not `import type`), a re-export, or a dynamic import, of a bare specifier. */
const IMPORTS = [/^\s*import\s+(?!type\s)[^;]*?from\s*'([^'.][^']*)'/gm, /^\s*import\s*'([^'.][^']*)'/gm, /^\s*export\s+(?!type\s)[^;]*?from\s*'([^'.][^']*)'/gm, /\bimport\(\s*'([^'.][^']*)'\s*\)/g];

function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => join(ROOT, folder, file));
}

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

describe('dependencies', () => {
  it('lists every package the shipped code imports at run time', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; dependencies: Record<string, string> };
    const builtin = new Set(builtinModules);
    const missing = new Set<string>();
    let seen = 0;
    for (const file of SHIPPED.flatMap(sources)) {
      const text = readFileSync(file, 'utf8');
      for (const pattern of IMPORTS) {
        for (const [, specifier] of text.matchAll(pattern)) {
          if (specifier!.startsWith('node:') || builtin.has(specifier!)) continue;
          seen++;
          const name = packageOf(specifier!);
          // the package by its own name: the sample project `mesh init` writes imports it so
          if (name === manifest.name) continue;
          if (!(name in manifest.dependencies)) missing.add(`${name} (${file.slice(ROOT.length)})`);
        }
      }
    }
    assert.ok(seen > 20, `only ${seen} package imports found: the patterns no longer match the code`);
    assert.deepEqual([...missing], []);
  });
});
