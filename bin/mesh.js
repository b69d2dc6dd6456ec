#!/usr/bin/env node
// The `mesh` command: registers tsx so services written in TypeScript (ES module or CommonJS) load directly,
// then runs the CLI: the TypeScript sources in a checkout, the compiled dist/ in an installed package.
import { existsSync } from 'node:fs';
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register as registerEsm } from 'tsx/esm/api';

registerEsm();
registerCommonJs();
const source = new URL('../mesh/cli.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/mesh/cli.js', import.meta.url).href);
