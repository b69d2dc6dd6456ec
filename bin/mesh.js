#!/usr/bin/env node
// The `mesh` command: runs the compiled CLI (dist/) of an installed package, which registers tsx only when it loads
// a user's .ts file; in a checkout (no dist/), registers tsx first and runs the TypeScript sources.
import { existsSync } from 'node:fs';

const source = new URL('../mesh/cli.ts', import.meta.url);
if (existsSync(source)) {
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  esm.register();
  cjs.register();
  await import(source.href);
} else {
  await import(new URL('../dist/mesh/cli.js', import.meta.url).href);
}
