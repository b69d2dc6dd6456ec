// Discovery on gateway-http: openapi.json from the live registry (checked by an OpenAPI 3.1 validator), Swagger UI's
// "try it" in chromium, the browsable API by Accept, /ping and /version, and a JSON object body as keyword arguments.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { Validator } from '@seriousme/openapi-schema-validator';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { addMicroService } from '../../mesh/service/micro-service.ts';
import type { Browser } from 'playwright-core';
import { launchChromium, NO_CHROMIUM } from '../browser.ts';
import { start } from '../../gateway-http/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const WAIT = { timeout: 15_000 };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a document's and a page's JSON is whatever the gateway served; each test asserts its parts
type Json = any;
type Doc = { paths: Record<string, { post: Record<string, Json> }>; components: Record<string, Json>; [key: string]: unknown };

async function getJson(url: string, accept = 'application/json') {
  const res = await fetch(url, { headers: { accept } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: (await res.json()) as Json };
}

describe('gateway-http describes the mesh: OpenAPI, docs, browsable API', () => {
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;
  const greeting = new GreetingService();
  greeting.name = uniqueName('greeting');
  const foreign = uniqueName('foreign');

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    services = [await hostService(greeting, { nc, logger: silentLogger })];
    // A bare micro service without nats-mesh's host, publishing a broken schema next to a good one.
    const bare = addMicroService(nc, { name: foreign, logger: silentLogger, version: '0.0.1', description: 'bare <b>nats.js</b> service' });
    bare.addEndpoint('broken', { subject: `${foreign}.broken`, queue: 'q', metadata: { params_schema: '{not json', result_schema: '[1]' }, handler: (msg) => void msg.respond('[["ok"],{}]') });
    bare.addEndpoint('fine', {
      subject: `${foreign}.fine`,
      queue: 'q',
      metadata: { params_schema: '{"type":"object","properties":{"n":{"type":"integer"}}}' },
      handler: (msg) => void msg.respond('[[1],{}]'),
    });
    gateway = await start({ config: testConfig(), logger: silentLogger });
  });

  after(async () => {
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  it('serves an openapi.json that a real OpenAPI 3.1 validator accepts', async () => {
    const { status, body } = await getJson(`${gateway.url}/openapi.json`);
    assert.equal(status, 200);
    assert.equal(body.openapi, '3.1.0');
    const result = await new Validator().validate(body);
    assert.deepEqual(result.errors, undefined);
    assert.equal(result.valid, true);
  });

  it('has every procedure with its request and response schemas, and the error model', async () => {
    const doc = (await getJson(`${gateway.url}/openapi.json`)).body as Doc;
    for (const method of ['hello', 'hello_sleep']) {
      const op = doc.paths[`/${greeting.name}.${method}`]!.post;
      assert.equal(op.operationId, `${greeting.name}.${method}`);
      const [kwargs, envelope] = op.requestBody.content['application/json'].schema.oneOf;
      assert.equal(kwargs.type, 'object');
      assert.equal(envelope.type, 'array');
      assert.equal(op.responses['200'].content['application/json'].schema.prefixItems[0].prefixItems[0].type, 'string');
      assert.equal(op.responses.default.$ref, '#/components/responses/Error');
    }
    const hello = doc.paths[`/${greeting.name}.hello`]!.post;
    assert.equal(hello.summary, 'Greets a person by name');
    const kwargs = hello.requestBody.content['application/json'].schema.oneOf[0];
    assert.deepEqual(kwargs.required, ['first_name']);
    assert.deepEqual(Object.keys(kwargs.properties), ['first_name', 'last_name']);
    assert.ok(doc.components.schemas.ErrorCode.enum.includes('UNKNOWN_PROCEDURE'));
    assert.ok(doc.components.schemas.ErrorCode.enum.includes('INVALID_ARGUMENT'));
    assert.deepEqual(doc.components.schemas.ErrorBody.properties.error.required, ['code', 'message', 'status']);
    assert.equal(doc.components.securitySchemes, undefined);
  });

  it('shows a broken foreign schema as unavailable and keeps the rest of the document', async () => {
    const doc = (await getJson(`${gateway.url}/openapi.json`)).body as Doc;
    const broken = doc.paths[`/${foreign}.broken`]!.post;
    assert.deepEqual(broken['x-schema-unavailable'], { params_schema: 'schema is not valid JSON', result_schema: 'schema is not a JSON object' });
    assert.match(broken.description, /params_schema unavailable: schema is not valid JSON/);
    const fine = doc.paths[`/${foreign}.fine`]!.post;
    assert.deepEqual(fine.requestBody.content['application/json'].schema.oneOf[0].properties, { n: { type: 'integer' } });
    assert.ok(doc.paths[`/${greeting.name}.hello`]);
  });

  it('adds a service that starts later once the registry has seen it', async (t) => {
    const late = new GreetingService();
    late.name = uniqueName('late');
    const hosted = await hostService(late, { nc, logger: silentLogger });
    t.after(() => hosted.stop());
    const res = await fetch(`${gateway.url}/${late.name}.hello`, { method: 'POST', body: '{"first_name": "Late"}', headers: { 'content-type': 'application/json' } });
    assert.equal(await res.text(), '[["Hello, Late"],{}]');
    const doc = (await getJson(`${gateway.url}/openapi.json`)).body as Doc;
    assert.ok(doc.paths[`/${late.name}.hello`], 'the new procedure is in the document');
  });

  it('takes a JSON object body as keyword arguments, and [args, kwargs] as before', async () => {
    const url = `${gateway.url}/${greeting.name}.hello`;
    const post = async (body: string | Uint8Array, type = 'application/json') => {
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': type } });
      return [res.status, await res.text()];
    };
    assert.deepEqual(await post('{"first_name": "Bob"}'), [200, '[["Hello, Bob"],{}]']);
    assert.deepEqual(await post(' \n\t{"first_name": "Bob", "last_name": "Ross"}'), [200, '[["Hello, Bob Ross"],{}]']);
    assert.deepEqual(await post('[[], {"first_name": "Bob"}]'), [200, '[["Hello, Bob"],{}]']);
    const [status, text] = await post('{"first_name": 7}');
    assert.equal(status, 400);
    assert.equal(JSON.parse(text as string).error.code, 'INVALID_ARGUMENT');
    const [badStatus, badText] = await post('{"first_name": ');
    assert.equal(badStatus, 400);
    assert.equal(JSON.parse(badText as string).error.code, 'INVALID_ARGUMENT');
    const res = await fetch(url, { method: 'POST', body: encode({ first_name: 'Mia' }), headers: { 'content-type': 'application/msgpack' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/msgpack');
  });

  it('lists the services at GET / as JSON, and as JSON for an Accept that matches nothing', async () => {
    for (const accept of ['application/json', 'image/png', '*/*']) {
      const { status, type, body } = await getJson(`${gateway.url}/`, accept);
      assert.equal(status, 200, accept);
      assert.match(type, /^application\/json/, accept);
      const mine = body.services.find((s: { name: string }) => s.name === greeting.name);
      assert.deepEqual(mine, {
        name: greeting.name,
        version: '1.0.0',
        description: 'Says hello',
        procedures: [
          { name: `${greeting.name}.hello`, description: 'Greets a person by name' },
          { name: `${greeting.name}.hello_sleep`, description: 'Greets after a delay, to show a slow procedure' },
        ],
      });
    }
  });

  it('describes one procedure as JSON, and a broken schema as unavailable', async () => {
    const { body } = await getJson(`${gateway.url}/${greeting.name}.hello`);
    assert.equal(body.name, `${greeting.name}.hello`);
    assert.equal(body.description, 'Greets a person by name');
    assert.equal(body.parameters, 'first_name, last_name?');
    assert.deepEqual(body.result_schema.type, 'string');
    const broken = await getJson(`${gateway.url}/${foreign}.broken`);
    assert.deepEqual(broken.body.params_schema, { unavailable: 'schema is not valid JSON' });
    const unknown = await getJson(`${gateway.url}/${uniqueName('nobody')}.hello`);
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'UNKNOWN_PROCEDURE']);
  });

  it('serves HTML pages for Accept: text/html, with whatever a service sends escaped', async () => {
    const home = await fetch(`${gateway.url}/`, { headers: { accept: 'text/html' } });
    assert.match(home.headers.get('content-type')!, /^text\/html/);
    assert.match(home.headers.get('content-security-policy')!, /script-src 'self'/);
    const html = await home.text();
    assert.ok(html.includes(`href="${greeting.name}.hello"`));
    assert.ok(html.includes('bare &lt;b&gt;nats.js&lt;/b&gt; service'));
    assert.ok(!html.includes('<b>nats.js</b>'));
    const page = await (await fetch(`${gateway.url}/${greeting.name}.hello`, { headers: { accept: 'text/html,*/*;q=0.8' } })).text();
    assert.ok(page.includes('id="field-first_name" name="first_name" data-field="first_name" required data-type="string"'));
    assert.ok(page.includes('Greets a person by name'));
    const missing = await fetch(`${gateway.url}/${uniqueName('nobody')}.x`, { headers: { accept: 'text/html' } });
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /UNKNOWN_PROCEDURE/);
  });

  it('answers /ping and /version', async () => {
    assert.deepEqual((await getJson(`${gateway.url}/ping`)).body, { ping: 'pong' });
    const { body } = await getJson(`${gateway.url}/version`);
    assert.deepEqual(body, { name: 'nats-mesh', version: '0.1.0', node: process.version });
  });

  it('serves only the docs files it names', async () => {
    assert.equal((await fetch(`${gateway.url}/docs/swagger-ui-bundle.js`)).status, 200);
    assert.equal((await fetch(`${gateway.url}/docs/package.json`)).status, 404);
    assert.equal((await fetch(`${gateway.url}/docs/..%2Fpackage.json`)).status, 404);
  });

  describe('in chromium', { skip: NO_CHROMIUM }, () => {
    let browser: Browser;

    before(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await launchChromium();
    });

    after(async () => {
      await browser?.close();
    });

    it('calls greeting hello with "try it" on the docs page', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const failed: string[] = [];
      page.on('requestfailed', (request) => failed.push(request.url()));
      await page.goto(`${gateway.url}/docs`);
      const operation = page.locator('.opblock', { has: page.locator(`[data-path="/${greeting.name}.hello"]`) });
      await operation.locator('.opblock-summary').first().click(WAIT);
      await operation.locator('button.try-out__btn').click(WAIT);
      await operation.locator('textarea.body-param__text').fill('{"first_name": "Bob", "last_name": "Ross"}');
      await operation.locator('button.execute').click(WAIT);
      await operation.locator('.responses-wrapper .live-responses-table .response-col_description pre').first().waitFor(WAIT);
      const shown = await operation.locator('.live-responses-table .response-col_description pre').first().textContent();
      await page.screenshot({ path: new URL('openapi-docs-try-it.png', ARTIFACTS).pathname, fullPage: true });
      assert.match(shown ?? '', /Hello, Bob Ross/);
      assert.deepEqual(failed, []);
      await page.close();
    });

    it('calls a procedure from its browsable page and shows a field error next to the field', async () => {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await page.goto(`${gateway.url}/${greeting.name}.hello`);
      await page.fill('#field-first_name', 'Ada');
      await page.click('#call button[type="submit"]');
      await page.locator('#result[data-state="ok"]').waitFor(WAIT);
      assert.equal(await page.textContent('#result'), '"Hello, Ada"');
      await page.goto(`${gateway.url}/${greeting.name}.hello_sleep`);
      await page.fill('#field-name', 'Ada');
      await page.fill('#field-seconds', '301');
      await page.click('#call button[type="submit"]');
      await page.locator('#result[data-state="error"]').waitFor(WAIT);
      assert.equal(await page.textContent('[data-error-for="seconds"]'), 'must be from 0 to 300');
      await page.screenshot({ path: new URL('browse-procedure.png', ARTIFACTS).pathname, fullPage: true });
      await page.close();
    });
  });
});
