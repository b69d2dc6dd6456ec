// Declared GET routes (`@rpc({ http: { get } })`, or `http_get` in any service's $SRV.INFO) through gateway-http on a
// nats-server of the test's own: path and query as keyword arguments checked by the contract, 404/405, conflicts
// refused with a log line, OpenAPI, and the same cross-origin rule, policy, rate limit, timeout and metrics as a POST.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { decode } from '@msgpack/msgpack';
import { Validator } from '@seriousme/openapi-schema-validator';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { start } from '../../gateway-http/index.ts';
import { addMicroService } from '../../mesh/service/micro-service.ts';
import { createIdentityVerifier, currentCall, hashApiKey, hostService, rpc, startTracing, z, type HostedService, type Kwargs } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger, testConfig, withoutErrorId } from '../helpers.ts';
import { tempFile } from '../mesh/auth/tokens.ts';
import { launchChromium, NO_CHROMIUM } from '../browser.ts';

class Library {
  name = 'library';

  @rpc({
    params: z.object({ id: z.string(), page: z.int().min(1).default(1), tags: z.array(z.string()).default([]), draft: z.boolean().default(false) }),
    http: { get: '/books/:id' },
  })
  async book(id: string, page: number, tags: string[], draft: boolean) {
    return { id, page, tags, draft, caller: currentCall()?.caller?.id ?? null };
  }

  @rpc({ params: z.object({ limit: z.int().default(10) }), http: { get: '/books/new' } })
  async newest(limit: number) {
    return `newest ${limit}`;
  }

  /** Without a schema: the values stay text. */
  @rpc({ http: { get: '/shelves/:shelf' } })
  async shelf(shelf: string, row = '1') {
    return [shelf, row];
  }

  @rpc({ variadic: true, http: { get: '/echo/:x' } })
  async echo(_args: unknown[], kwargs: Kwargs) {
    return kwargs;
  }

  @rpc({ http: { get: '/trace' } })
  async trace() {
    return currentCall()?.traceId ?? null;
  }

  @rpc({ params: z.object({ ms: z.coerce.number() }), http: { get: '/wait' } })
  async wait(ms: number) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return 'waited';
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A request as curl sends it (no browser headers unless given). */
function send(url: string, method = 'GET', headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = request(url, { method, headers: { ...length, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const result = (answer: Answer) => (JSON.parse(answer.text) as [[unknown], object])[0][0];
const error = (answer: Answer) => (withoutErrorId(JSON.parse(answer.text)) as { error: unknown }).error;

describe('declared GET routes', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  const lines: Record<string, unknown>[] = [];
  /** The payloads the bare (any-language) service received. */
  const received: string[] = [];
  const url = (path: string) => `${gateway.url}${path}`;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    hosted = await hostService(new Library(), { nc, logger: silentLogger });
    // Services in any language: only their $SRV.INFO metadata says what they serve.
    const bare = addMicroService(nc, { name: 'bare', logger: silentLogger, version: '1.0.0' });
    const echo = (msg: { data: Uint8Array; respond(data: string): boolean }) => {
      received.push(new TextDecoder().decode(msg.data));
      msg.respond('[["bare"],{}]');
    };
    const integerN = JSON.stringify({ type: 'object', properties: { n: { type: 'integer' }, flag: { type: 'boolean' }, big: { type: 'integer' } } });
    bare.addEndpoint('count', { subject: 'bare.count', queue: 'q', metadata: { http_get: '/count/:n', params_schema: integerN }, handler: echo });
    bare.addEndpoint('one', { subject: 'bare.one', queue: 'q', metadata: { http_get: '/twice/:a' }, handler: echo });
    bare.addEndpoint('two', { subject: 'bare.two', queue: 'q', metadata: { http_get: '/twice/:b' }, handler: echo });
    bare.addEndpoint('mine', { subject: 'bare.mine', queue: 'q', metadata: { http_get: '/tasks/:id' }, handler: echo });
    bare.addEndpoint('odd', { subject: 'bare.odd', queue: 'q', metadata: { http_get: 'books/../etc' }, handler: echo });
    await nc.flush();
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    gateway = await start({ config: testConfig({ 'nats.url': server.url, 'rpc.timeoutMs': 5000 }), logger });
  });

  after(async () => {
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
    await server.stop();
  });

  it('calls the procedure with the path and the query string as keyword arguments, typed by its schema', async () => {
    const answer = await send(url('/books/b%20%2F1?page=2&tags=x&tags=y&draft=true'));
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(result(answer), { id: 'b /1', page: 2, tags: ['x', 'y'], draft: true, caller: null });
    assert.deepEqual(result(await send(url('/books/b1/?tags=only'))), { id: 'b1', page: 1, tags: ['only'], draft: false, caller: null });
    assert.equal(result(await send(url('/books/new?limit=3'))), 'newest 3');
    assert.deepEqual(result(await send(url('/shelves/s1?row=2'))), ['s1', '2']);
    assert.equal((await send(url('/echo/%E2%9C%93?__proto__=p&constructor=c&=e'))).text, '[[{"x":"✓","__proto__":"p","constructor":"c","":"e"}],{}]');
    // MessagePack when the client accepts it before JSON; the Content-Type of a request without a body says nothing.
    const packed = await fetch(url('/books/b1'), { headers: { accept: 'application/msgpack' } });
    assert.equal(packed.headers.get('content-type'), 'application/msgpack');
    assert.deepEqual(decode(new Uint8Array(await packed.arrayBuffer())), [[{ id: 'b1', page: 1, tags: [], draft: false, caller: null }], {}]);
    assert.equal((await send(url('/books/b1'), 'GET', { 'content-type': 'image/png', accept: 'application/json, application/msgpack' })).headers['content-type'], 'application/json; charset=utf-8');
    const head = await send(url('/books/b1'), 'HEAD');
    assert.deepEqual([head.status, head.text], [200, '']);
  });

  it('leaves the judging to the contract, in its words', async () => {
    assert.deepEqual(error(await send(url('/books/b1?page=first'))), {
      code: 'INVALID_ARGUMENT',
      message: 'page must be a number, got string',
      status: 400,
      details: [{ field: 'page', message: 'must be a number, got string' }],
    });
    assert.deepEqual(error(await send(url('/books/b1?page=0'))), {
      code: 'INVALID_ARGUMENT',
      message: 'page must be at least 1',
      status: 400,
      details: [{ field: 'page', message: 'must be at least 1' }],
    });
    assert.equal((error(await send(url('/books/b1?colour=red'))) as { message: string }).message, "library.book got an unknown keyword argument 'colour'");
    assert.equal((error(await send(url('/books/b1?page=1&page=2'))) as { message: string }).message, 'page must be a number, got array');
    assert.deepEqual(error(await send(url('/books/b1?id=b2'))), { code: 'INVALID_ARGUMENT', message: '"id" is given by the path; the query string may not give it again', status: 400 });
    assert.deepEqual(error(await send(url('/books/%E0%A4%A'))), { code: 'INVALID_ARGUMENT', message: "the path's :id is not valid percent-encoding", status: 400 });
    assert.deepEqual(error(await send(url('/books/b1'), 'GET', { 'content-type': 'application/json' }, '{"page": 2}')), {
      code: 'INVALID_ARGUMENT',
      message: 'a GET route takes its arguments from the path and the query string, not from a body',
      status: 400,
    });
  });

  it('passes text to a service in any language, as a number or boolean only where its schema says so', async () => {
    received.length = 0;
    assert.equal(result(await send(url('/count/7?flag=true&big=9007199254740993&other=1'))), 'bare');
    assert.equal(result(await send(url('/count/1e400?flag=yes'))), 'bare');
    assert.deepEqual(received, ['[[],{"n":7,"flag":true,"big":"9007199254740993","other":"1"}]', '[[],{"n":"1e400","flag":"yes"}]']);
  });

  it('answers 404 for no route and 405 with Allow for another method on a route', async () => {
    assert.deepEqual(error(await send(url('/books'))), { code: 'NOT_FOUND', message: 'no route GET "/books"', status: 404 });
    assert.equal((await send(url('/books/b1/pages'))).status, 404);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const answer = await send(url('/books/b1'), method, { 'content-type': 'application/json' }, '{}');
      assert.equal(answer.status, 405, `${method}: ${answer.text}`);
      assert.equal(answer.headers.allow, 'GET, HEAD, OPTIONS');
      assert.deepEqual(error(answer), { code: 'METHOD_NOT_ALLOWED', message: '"/books/b1" is a GET route (/books/:id): use GET', status: 405 });
    }
    const options = await send(url('/books/b1'), 'OPTIONS');
    assert.deepEqual([options.status, options.headers.allow], [204, 'GET, HEAD, OPTIONS']);
    // A POST naming a procedure is still a call.
    assert.equal((await send(url('/library.newest'), 'POST', { 'content-type': 'application/json' }, '{"limit": 4}')).text, '[["newest 4"],{}]');
  });

  it('refuses a route two procedures declare, and one that is malformed or shadows the gateway, with one log line each', async () => {
    assert.equal((await send(url('/twice/1'))).status, 404);
    const refusals = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('GET route refused'));
    assert.deepEqual(
      refusals.map(({ msg, route, procedures, procedure, reason }) => ({ msg, route, procedures, procedure, reason })),
      [
        { msg: 'GET route refused: malformed', procedure: 'bare.mine', route: '/tasks/:id', reason: 'must not start with /tasks, which the HTTP gateway serves itself', procedures: undefined },
        { msg: 'GET route refused: malformed', procedure: 'bare.odd', route: 'books/../etc', reason: 'must start with / and name at least one segment, such as /things/:uuid', procedures: undefined },
        { msg: 'GET route refused: declared by more than one procedure, served by none', route: '/twice/:', procedures: ['bare.one', 'bare.two'], procedure: undefined, reason: undefined },
      ],
    );
    assert.equal(result(await send(url('/count/1'))), 'bare');
  });

  it('keeps the caller’s own timeout (Prefer: wait), capped by the gateway’s', async () => {
    const started = Date.now();
    const answer = await send(url('/wait?ms=3000'), 'GET', { prefer: 'wait=1' });
    assert.equal(answer.status, 504);
    assert.ok(Date.now() - started < 2500, `answered after ${Date.now() - started} ms`);
    assert.equal(result(await send(url('/wait?ms=1'))), 'waited');
  });

  it('carries the caller’s trace to the procedure, as a POST does', async () => {
    // Spans are made (no exporter: OTEL_EXPORTER_OTLP_ENDPOINT is not given), so the trace travels.
    await startTracing('get-routes-test', { enabled: true }, {});
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const answer = await send(url('/trace'), 'GET', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    assert.equal(result(answer), traceId);
    assert.equal(answer.headers['trace-id'], traceId);
    assert.match(String(answer.headers.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it('refuses a browser’s cross-site GET of a route as it refuses a cross-site POST', async () => {
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'https://evil.example' }] as Record<string, string>[]) {
      const answer = await send(url('/books/b1'), 'GET', headers);
      assert.equal(answer.status, 403);
      assert.equal((error(answer) as { code: string }).code, 'PERMISSION_DENIED');
    }
    assert.equal((await send(url('/books/b1'), 'GET', { 'sec-fetch-site': 'same-origin' })).status, 200);
    // The gateway's own pages stay readable from anywhere, as before.
    assert.equal((await send(url('/openapi.json'), 'GET', { 'sec-fetch-site': 'cross-site' })).status, 200);
  });

  it('shows each route as a GET operation in openapi.json, with path and query parameters', async () => {
    const document = JSON.parse((await send(url('/openapi.json'))).text) as { paths: Record<string, Record<string, { operationId: string; parameters?: unknown }>> };
    const validation = await new Validator().validate(document as never);
    assert.deepEqual(validation.errors, undefined);
    assert.ok(validation.valid);
    assert.deepEqual(
      Object.keys(document.paths)
        .filter((p) => !p.includes('.'))
        .sort(),
      ['/books/new', '/books/{id}', '/count/{n}', '/echo/{x}', '/shelves/{shelf}', '/trace', '/wait'],
    );
    const book = document.paths['/books/{id}']!.get!;
    assert.equal(book.operationId, 'GET library.book');
    assert.deepEqual(book.parameters, [
      { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'page', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 9007199254740991, default: 1 } },
      { name: 'tags', in: 'query', required: false, schema: { type: 'array', items: { type: 'string' }, default: [] } },
      { name: 'draft', in: 'query', required: false, schema: { type: 'boolean', default: false } },
    ]);
    assert.deepEqual(document.paths['/shelves/{shelf}']!.get!.parameters, [
      { name: 'shelf', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'row', in: 'query', required: false, schema: { type: 'string' } },
    ]);
    assert.ok(document.paths['/library.book']!.post);
    // The procedure's own page names its route.
    assert.equal((JSON.parse((await send(url('/library.book'))).text) as { get_route: unknown }).get_route, '/books/:id');
    assert.equal((JSON.parse((await send(url('/bare.one'))).text) as { get_route: unknown }).get_route, null);
    assert.match((await send(url('/library.book'), 'GET', { accept: 'text/html' })).text, /<code>GET \/books\/:id<\/code>/);
  });

  it('lets Swagger UI call a route with its path and query parameters', { skip: NO_CHROMIUM }, async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const wait = { timeout: 15_000 };
      await page.goto(url('/docs'));
      const operation = page.locator('.opblock-get', { has: page.locator('[data-path="/books/{id}"]') });
      await operation.locator('.opblock-summary').first().click(wait);
      await operation.locator('button.try-out__btn').click(wait);
      await operation.locator('tr[data-param-name="id"] input').fill('b 7');
      await operation.locator('tr[data-param-name="page"] input').fill('3');
      await operation.locator('button.execute').click(wait);
      const shown = operation.locator('.live-responses-table .response-col_description pre').first();
      await shown.waitFor(wait);
      assert.deepEqual(JSON.parse((await shown.textContent()) ?? ''), [[{ id: 'b 7', page: 3, tags: [], draft: false, caller: null }], {}]);
      assert.match((await operation.locator('.request-url pre').textContent()) ?? '', /\/books\/b%207\?page=3(&|$)/);
    } finally {
      await browser.close();
    }
  });
});

describe('GET routes under the gateway’s policy, budget and metrics', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  const url = (path: string) => `${gateway.url}${path}`;
  const config = () =>
    testConfig({
      'nats.url': server.url,
      'auth.meshSecret': 'm'.repeat(32),
      'auth.apiKeysFile': tempFile('keys.json', JSON.stringify([{ id: 'reader', sha256: hashApiKey('reader-secret-key'), roles: ['reader'] }])),
      'auth.policyFile': tempFile(
        'policy.yaml',
        ['anonymous: guest', 'roles:', '  guest:', '    - { uri: library.newest, match: exact, allow: [call] }', '  reader:', '    - { uri: "library.", match: prefix, allow: [call] }'].join('\n'),
      ),
      'rateLimit.points': 3,
      'rateLimit.durationS': 60,
      'http.corsOrigins': 'https://trusted.example',
    });

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    const settings = config();
    hosted = await hostService(new Library(), { nc, logger: silentLogger, identity: createIdentityVerifier(settings.auth) });
    gateway = await start({ config: settings, logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
    await server.stop();
  });

  it('asks for the same credential, forwards the same identity, takes from the same budget, and counts the call', async () => {
    const key = { 'x-api-token': 'reader-secret-key' };
    const anonymous = await send(url('/books/b1'));
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Bearer realm="nats-mesh"');
    assert.equal(result(await send(url('/books/new'))), 'newest 10');
    // A trusted origin may read across sites, with CORS.
    const trusted = await send(url('/books/b1'), 'GET', { ...key, origin: 'https://trusted.example', 'sec-fetch-site': 'cross-site' });
    assert.equal(trusted.headers['access-control-allow-origin'], 'https://trusted.example');
    assert.deepEqual(result(trusted), { id: 'b1', page: 1, tags: [], draft: false, caller: 'reader' });
    for (let i = 0; i < 2; i++) assert.equal((await send(url('/books/b1'), 'GET', key)).status, 200);
    const limited = await send(url('/books/b1'), 'GET', key);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    const metrics = (await send(url('/metrics'), 'GET', key)).text;
    assert.match(metrics, /^mesh_gateway_requests_total\{procedure="library\.book",status="200",gateway="http"\} 3$/m);
    assert.match(metrics, /^mesh_gateway_requests_total\{procedure="library\.book",status="429",gateway="http"\} 1$/m);
  });
});

describe('GET route declarations are checked where they are declared', () => {
  it('refuses a malformed pattern, one the gateway serves itself, and a :parameter the procedure does not take', () => {
    const declare =
      (http: unknown, params = z.object({ id: z.string() })) =>
      () => {
        class Bad {
          name = 'bad';
          @rpc({ params, http: http as { get: string } }) async get() {}
        }
        return new Bad();
      };
    assert.throws(declare({ get: 'things/:id' }), { name: 'ConfigError', message: "@rpc on 'get': http.get must start with / and name at least one segment, such as /things/:uuid" });
    assert.throws(declare({ get: '/metrics/:id' }), { name: 'ConfigError', message: "@rpc on 'get': http.get must not start with /metrics, which the HTTP gateway serves itself" });
    assert.throws(declare({ get: '/:id' }), { name: 'ConfigError', message: "@rpc on 'get': http.get must start with a fixed segment, not a :parameter" });
    assert.throws(declare({ get: '/things/:id/:id' }), { name: 'ConfigError', message: "@rpc on 'get': http.get names the parameter :id twice" });
    assert.throws(declare({ get: '/things.json' }), { name: 'ConfigError', message: /^@rpc on 'get': http\.get has a segment "things\.json" that is neither fixed text/ });
    assert.throws(declare({ get: '/things/:uuid' }), { name: 'ConfigError', message: "@rpc on 'get': http.get names :uuid, which is not one of its parameters (id)" });
    assert.throws(declare({ post: '/things' }), { name: 'ConfigError', message: "@rpc on 'get': http must be { get: '/path/:param' }" });
    assert.throws(declare('/things'), { name: 'ConfigError', message: "@rpc on 'get': http must be { get: '/path/:param' }" });
  });

  it('refuses, at start, two procedures of a service that declare the same route', async () => {
    const server = await OwnNatsServer.start();
    const nc = await connect({ servers: server.url });
    try {
      class Twice {
        name = 'twice';
        @rpc({ http: { get: '/things/:id' } }) async one(id: string) {
          return id;
        }
        @rpc({ http: { get: '/things/:uuid' } }) async two(uuid: string) {
          return uuid;
        }
      }
      await assert.rejects(hostService(new Twice(), { nc, logger: silentLogger }), {
        name: 'ConfigError',
        message: "twice: @rpc on 'one' and on 'two' declare the same GET route (/things/:id, /things/:uuid)",
      });
    } finally {
      await nc.close();
      await server.stop();
    }
  });
});

describe('docs/http-gateway.md, GET routes', () => {
  it('shows thing_service’s declaration as its source has it (the page’s curl examples run in test/readme.test.ts)', () => {
    const page = readFileSync(new URL('../../docs/http-gateway.md', import.meta.url), 'utf8');
    const shown = [...page.matchAll(/```ts title="([^"]+)"\n([\s\S]*?)```/g)];
    assert.equal(shown.length, 1);
    const [, path, code] = shown[0]!;
    const source = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
    assert.ok(source.includes(code!), `${path} holds, as written:\n${code}`);
  });
});
