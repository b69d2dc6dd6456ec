// Serves the frontend on the WAMP gateway's port: the page at `/`, its scripts, style and icon, and the WAMP client
// library from node_modules (the machine may be offline: no CDN). A fixed list of files; nothing else is reachable.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';

export interface PageSettings {
  /** Websocket path and realm, written into the page so it connects where this gateway listens. */
  path: string;
  realm: string;
}

interface Asset {
  type: string;
  body: Buffer;
}

const FRONTEND = new URL('../frontend/', import.meta.url);

function frontendFile(name: string): Buffer {
  return readFileSync(new URL(name, FRONTEND));
}

/** The browser build of Autobahn|JS, the page's WAMP client. */
function autobahnBrowser(): Buffer {
  return readFileSync(createRequire(import.meta.url).resolve('autobahn-browser/autobahn.min.js'));
}

/** uPlot, the dashboard's charts: its browser build and stylesheet. */
function uplotFile(name: string): Buffer {
  return readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`));
}

function escapeAttribute(value: string): string {
  return value.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loadAssets({ path, realm }: PageSettings): Map<string, Asset> {
  const page = frontendFile('index.html').toString('utf8').replaceAll('{{WAMP_PATH}}', escapeAttribute(path)).replaceAll('{{WAMP_REALM}}', escapeAttribute(realm));
  const html: Asset = { type: 'text/html; charset=utf-8', body: Buffer.from(page) };
  return new Map([
    ['/', html],
    ['/index.html', html],
    ['/app.js', { type: 'text/javascript; charset=utf-8', body: frontendFile('app.js') }],
    ['/explorer.js', { type: 'text/javascript; charset=utf-8', body: frontendFile('explorer.js') }],
    ['/tasks.js', { type: 'text/javascript; charset=utf-8', body: frontendFile('tasks.js') }],
    ['/style.css', { type: 'text/css; charset=utf-8', body: frontendFile('style.css') }],
    ['/favicon.svg', { type: 'image/svg+xml', body: frontendFile('favicon.svg') }],
    ['/vendor/autobahn.min.js', { type: 'text/javascript; charset=utf-8', body: autobahnBrowser() }],
    ['/dashboard.js', { type: 'text/javascript; charset=utf-8', body: frontendFile('dashboard.js') }],
    ['/vendor/uPlot.iife.min.js', { type: 'text/javascript; charset=utf-8', body: uplotFile('uPlot.iife.min.js') }],
    ['/vendor/uPlot.min.css', { type: 'text/css; charset=utf-8', body: uplotFile('uPlot.min.css') }],
  ]);
}

/** The HTTP request handler for everything but websocket upgrades. */
export function createPageHandler(settings: PageSettings): (req: IncomingMessage, res: ServerResponse) => void {
  const assets = loadAssets(settings);
  return (req, res) => {
    const asset = assets.get(new URL(req.url ?? '/', 'http://gateway').pathname);
    if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(asset ? 405 : 404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(asset ? 'method not allowed\n' : 'not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': asset.body.length, 'Cache-Control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };
}
