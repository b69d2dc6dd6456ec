// The browsable API: GET / lists the services, GET /<service>.<method> shows one procedure with a form made from its
// schema, as HTML for a browser and as JSON otherwise; and /ping, /version. It shows; calls go through POST.
import type { Context } from 'koa';
import { MeshError, nameProblem, quoteName, withErrorId, type Caller, type ProcedureRegistry } from '../mesh/gateway.ts';
import { catalogOf, PACKAGE_VERSION, procedureOf, type ProcedureEntry, type PublishedSchema, type ServiceEntry } from './catalog.ts';
import type { View } from './discovery.ts';
import type { GetRoutes } from './get-routes.ts';

export interface BrowseOptions {
  registry: ProcedureRegistry;
  /** The declared GET routes the gateway serves: a procedure's page names its own. */
  getRoutes: GetRoutes;
  caller: Caller;
  maxNameBytes: number;
  /** Logs an error a page shows, under its id (one info line), as the gateway logs the errors it answers. */
  refused(ctx: Context, error: MeshError): void;
}

/** Pages load only the gateway's own script and styles; nothing a service sends can run. */
const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function wantsHtml(ctx: Context): boolean {
  ctx.vary('Accept');
  return ctx.accepts('application/json', 'text/html') === 'text/html';
}

function page(ctx: Context, title: string, body: string) {
  ctx.type = 'text/html; charset=utf-8';
  ctx.set('Content-Security-Policy', PAGE_POLICY);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="docs/browse.css">
</head>
<body>
<nav><a href="./">Services</a> · <a href="docs">API docs</a> · <a href="openapi.json">openapi.json</a></nav>
${body}
<script src="docs/browse.js"></script>
</body>
</html>
`;
}

function schemaJson(published: PublishedSchema): unknown {
  if (published === undefined) return null;
  return 'schema' in published ? published.schema : { unavailable: published.unavailable };
}

function procedureJson(procedure: ProcedureEntry, route: string | undefined) {
  return {
    name: procedure.name,
    service: procedure.service,
    description: procedure.description ?? null,
    access: procedure.access ?? null,
    parameters: procedure.parameters ?? null,
    params_schema: schemaJson(procedure.params),
    result_schema: schemaJson(procedure.result),
    instances: procedure.instances,
    get_route: route ?? null,
  };
}

function servicesJson(services: ServiceEntry[]) {
  return {
    services: services.map((s) => ({
      name: s.name,
      version: s.version ?? null,
      description: s.description ?? null,
      procedures: s.procedures.map((p) => ({ name: p.name, description: p.description ?? null })),
    })),
  };
}

function servicesHtml(services: ServiceEntry[]): string {
  if (services.length === 0) return '<h1>Services</h1>\n<p>No service is running.</p>';
  const items = services.map((s) => {
    const procedures = s.procedures.map((p) => `<li><a href="${escapeHtml(p.name)}">${escapeHtml(p.name)}</a>${p.description ? ` — ${escapeHtml(p.description)}` : ''}</li>`).join('\n');
    const about = [s.version && `version ${escapeHtml(s.version)}`, s.description && escapeHtml(s.description)].filter(Boolean).join(' · ');
    return `<section class="service"><h2>${escapeHtml(s.name)}</h2>${about ? `<p>${about}</p>` : ''}<ul>\n${procedures}\n</ul></section>`;
  });
  return `<h1>Services</h1>\n${items.join('\n')}`;
}

/** The form field of one parameter: its JSON type decides the input, browse.js reads it back by data-type. */
function fieldHtml(name: string, schema: Record<string, unknown>, required: boolean): string {
  const type = typeof schema.type === 'string' ? schema.type : 'json';
  const id = `field-${escapeHtml(name)}`;
  const label = `<label for="${id}">${escapeHtml(name)}${required ? ' *' : ''}${typeof schema.description === 'string' ? ` <small>${escapeHtml(schema.description)}</small>` : ''}</label>`;
  const common = `id="${id}" name="${escapeHtml(name)}" data-field="${escapeHtml(name)}"${required ? ' required' : ''}`;
  const defaulted = schema.default === undefined ? '' : ` placeholder="${escapeHtml(JSON.stringify(schema.default))}"`;
  let input: string;
  if (type === 'boolean') input = `<input type="checkbox" ${common} data-type="boolean">`;
  else if (type === 'number' || type === 'integer') input = `<input type="number" step="${type === 'integer' ? '1' : 'any'}" ${common} data-type="number"${defaulted}>`;
  else if (type === 'string') input = `<input type="text" ${common} data-type="string"${defaulted}>`;
  else input = `<textarea ${common} data-type="json" placeholder="JSON"></textarea>`;
  return `<div class="field">${label}${input}<span class="field-error" data-error-for="${escapeHtml(name)}"></span></div>`;
}

function formFields(published: PublishedSchema): string {
  const schema = published && 'schema' in published ? published.schema : undefined;
  const properties = schema?.properties;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    const why = published && 'unavailable' in published ? `The parameters schema is unavailable (${escapeHtml(published.unavailable)}): send` : 'Send';
    return `<p>${why} the body as JSON, <code>[args, kwargs]</code> or an object of keyword arguments.</p>
<div class="field"><label for="field-body">body</label><textarea id="field-body" name="body" data-type="body">[[], {}]</textarea></div>`;
  }
  const required = new Set(Array.isArray(schema!.required) ? schema!.required : []);
  return Object.entries(properties as Record<string, unknown>)
    .map(([name, sub]) => fieldHtml(name, typeof sub === 'object' && sub !== null ? (sub as Record<string, unknown>) : {}, required.has(name)))
    .join('\n');
}

function procedureHtml(procedure: ProcedureEntry, route: string | undefined): string {
  const facts = [
    `service <a href="./">${escapeHtml(procedure.service)}</a>`,
    procedure.access && `access ${escapeHtml(procedure.access)}`,
    route && `<code>GET ${escapeHtml(route)}</code>`,
    `${procedure.instances} instance${procedure.instances === 1 ? '' : 's'}`,
  ].filter(Boolean);
  const json = (value: unknown) => escapeHtml(JSON.stringify(value, null, 2));
  return `<h1>${escapeHtml(procedure.name)}</h1>
${procedure.description ? `<p class="description">${escapeHtml(procedure.description)}</p>` : ''}
<p class="facts">${facts.join(' · ')}</p>
<form id="call" data-procedure="${escapeHtml(procedure.name)}">
${formFields(procedure.params)}
<button type="submit">Call</button>
</form>
<h2>Result</h2>
<pre id="result" data-state="idle"></pre>
<details><summary>Schemas</summary>
<h3>params_schema</h3><pre>${json(schemaJson(procedure.params))}</pre>
<h3>result_schema</h3><pre>${json(schemaJson(procedure.result))}</pre>
</details>`;
}

export function createBrowse({ registry, getRoutes, caller, maxNameBytes, refused }: BrowseOptions) {
  /** The GET route the gateway serves for a procedure, if any. */
  const routeOf = (name: string) => getRoutes.list().find((route) => route.procedure === name)?.pattern.text;

  /** GET /: the services, with the procedures the view admits. */
  function services(ctx: Context, view: View) {
    const catalog = catalogOf(registry, view.visible);
    if (wantsHtml(ctx)) page(ctx, 'nats-mesh services', servicesHtml(catalog));
    else ctx.body = servicesJson(catalog);
  }

  /**
   * GET /<service>.<method>: one procedure. One the view does not admit is answered as a name no service answers, so a
   * page cannot tell the one from the other.
   */
  async function procedure(ctx: Context, view: View | Promise<View>) {
    const name = ctx.params.procedure ?? '';
    const html = wantsHtml(ctx);
    try {
      const problem = nameProblem(name, maxNameBytes);
      if (problem) throw new MeshError('UNKNOWN_PROCEDURE', `${quoteName(name)} is not a procedure name: ${problem}`);
      // The name passed nameProblem: no quote, whitespace or control character to escape.
      if (!(await view).visible(name)) throw new MeshError('UNKNOWN_PROCEDURE', `no service answers '${name}'`);
      let found = procedureOf(registry, name);
      if (!found) {
        if (!caller.connected) throw new MeshError('UNAVAILABLE', 'NATS is unreachable');
        await registry.lookup(name);
        found = procedureOf(registry, name);
        if (!found) throw new MeshError('UNKNOWN_PROCEDURE', `no service answers '${name}'`);
      }
      if (html) page(ctx, found.name, procedureHtml(found, routeOf(found.name)));
      else ctx.body = procedureJson(found, routeOf(found.name));
    } catch (err) {
      if (!html || !(err instanceof MeshError)) throw err;
      withErrorId(err);
      refused(ctx, err);
      page(ctx, err.code, `<h1>${escapeHtml(err.code)}</h1>\n<p>${escapeHtml(err.message)}</p>\n<p class="facts">error id ${escapeHtml(err.id)}</p>`);
      ctx.status = err.status;
    }
  }

  function ping(ctx: Context) {
    ctx.body = { ping: 'pong' };
  }

  function version(ctx: Context) {
    ctx.body = { name: 'nats-mesh', version: PACKAGE_VERSION, node: process.version };
  }

  return { services, procedure, ping, version };
}
