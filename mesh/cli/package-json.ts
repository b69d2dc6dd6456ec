// Where this package lies on disk: its root (the checkout, or dist/ when installed) and its package.json.
// Light on purpose: `mesh --version` reads it before anything else is loaded. A user's project is project.ts's.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding mesh/, services/ and the gateway folders: the checkout, or dist/ in an installed package. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** This package's package.json: beside mesh/ in a checkout, one level up from dist/ when installed. */
export const PACKAGE_JSON = [resolve(PACKAGE_ROOT, 'package.json'), resolve(PACKAGE_ROOT, '..', 'package.json')].find((p) => existsSync(p))!;
