// The API docs page at /docs: Swagger UI from the swagger-ui-dist package, served by the gateway itself (no CDN),
// pointed at /openapi.json on the same origin. It serves files; the document is openapi.ts's.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Context } from 'koa';
import { MeshError } from '../mesh/gateway.ts';

const require = createRequire(import.meta.url);

/** The files the page loads, by name: those of swagger-ui-dist, and this gateway's own start script and styles. */
const FILES: Record<string, { from: 'swagger' | 'assets'; type: string }> = {
  'swagger-ui.css': { from: 'swagger', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { from: 'swagger', type: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { from: 'swagger', type: 'image/png' },
  'docs.js': { from: 'assets', type: 'text/javascript; charset=utf-8' },
  'browse.js': { from: 'assets', type: 'text/javascript; charset=utf-8' },
  'browse.css': { from: 'assets', type: 'text/css; charset=utf-8' },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nats-mesh API docs</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/docs.js"></script>
</body>
</html>
`;

/** Files are read once, at their first request. */
const cache = new Map<string, Buffer>();

function fileBytes(name: string, from: 'swagger' | 'assets'): Buffer {
  let bytes = cache.get(name);
  if (!bytes) {
    const dir = from === 'swagger' ? dirname(require.resolve('swagger-ui-dist/package.json')) : new URL('./assets/', import.meta.url).pathname;
    bytes = readFileSync(join(dir, name));
    cache.set(name, bytes);
  }
  return bytes;
}

/** GET /docs: the page. */
export function docsPage(ctx: Context) {
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'");
  ctx.body = PAGE;
}

/** GET /docs/:file: one of the page's files; nothing else on disk is reachable. */
export function docsFile(ctx: Context) {
  const name = ctx.params.file ?? '';
  const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!file) throw new MeshError('NOT_FOUND', 'no such file');
  ctx.type = file.type;
  ctx.set('Cache-Control', 'public, max-age=3600');
  ctx.body = fileBytes(name, file.from);
}
