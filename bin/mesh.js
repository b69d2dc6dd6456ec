#!/usr/bin/env node
// The `mesh` command: registers tsx so the TypeScript sources (and services written in TypeScript, in
// ES module or CommonJS packages) load directly, then runs the CLI. The build runs dist/mesh/cli.js instead.
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register as registerEsm } from 'tsx/esm/api';

registerEsm();
registerCommonJs();
await import('../mesh/cli.ts');
