// The page in a real browser: headless Debian chromium (driven by playwright-core) opens the gateway's page,
// subscribes, sees an event that a POST to gateway-http caused, publishes, calls, and reconnects by itself.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NO_CHROMIUM } from '../browser.ts';
import { start as startHttp } from '../../gateway-http/index.ts';
import { start } from '../../gateway-wamp/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import WebsocketTestService from '../../services/websocket-test/index.ts';
import { freePort, silentLogger, testConfig, uniqueName } from '../helpers.ts';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const WAIT = { timeout: 15_000 };

describe('the WAMP page in chromium', { skip: NO_CHROMIUM }, () => {
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;
  let http: Awaited<ReturnType<typeof startHttp>>;
  let browser: Browser;
  let page: Page;
  let config: ReturnType<typeof testConfig>;
  const greeting = new GreetingService();
  greeting.name = uniqueName('greeting');
  const websocketTest = new WebsocketTestService();
  websocketTest.name = uniqueName('websocket_test');

  before(async () => {
    config = testConfig({ 'wamp.port': await freePort() });
    nc = await connect({ servers: config.nats.url });
    services = [await hostService(greeting, { nc, logger: silentLogger }), await hostService(websocketTest, { nc, logger: silentLogger })];
    gateway = await start({ config, logger: silentLogger });
    http = await startHttp({ config, logger: silentLogger });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await http.stop();
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  const logEntry = (kind: string, text: string) => page.locator(`#log li.${kind}`, { hasText: text }).first();

  it('connects to the gateway it is served from, with the panels prefilled', async () => {
    await page.goto(gateway.url);
    await page.locator('#state[data-state="connected"]').waitFor(WAIT);
    assert.equal(await page.inputValue('#subscribe-topic'), 'websocket_test.websocket_test');
    assert.equal(await page.inputValue('#publish-topic'), 'websocket_test.websocket_test');
    assert.equal(await page.inputValue('#publish-data'), '{"name": "Nobody"}');
    assert.equal(await page.inputValue('#call-procedure'), 'greeting_service.hello');
    assert.equal(await page.inputValue('#call-payload'), '[["Bob"], {"last_name": "Ross"}]');
  });

  it('shows the event a POST to hello_websocket publishes to the subscribed topic', async () => {
    await page.fill('#subscribe-topic', websocketTest.topic);
    await page.click('#subscribe-button');
    await logEntry('subscribed', websocketTest.topic).waitFor(WAIT);
    const res = await fetch(`${http.url}/${websocketTest.name}.hello_websocket`, { method: 'POST', body: '[["websockets"], {"are": "awesome"}]', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    await logEntry('event', `${websocketTest.topic} [["websockets"],{"are":"awesome"}]`).waitFor(WAIT);
  });

  it('publishes from the page to the event topic, and sees its own event', async () => {
    await page.fill('#publish-topic', websocketTest.topic);
    await page.click('#publish-button');
    await logEntry('published', `${websocketTest.topic} [[],{"name":"Nobody"}]`).waitFor(WAIT);
    await logEntry('event', `${websocketTest.topic} [[],{"name":"Nobody"}]`).waitFor(WAIT);
  });

  it('cannot publish into a procedure: the gateway answers wamp.error.not_authorized', async () => {
    await page.fill('#publish-topic', `${websocketTest.name}.hello_websocket`);
    await page.click('#publish-button');
    await logEntry('error', 'wamp.error.not_authorized').waitFor(WAIT);
  });

  it('calls greeting_service.hello and shows Hello, Bob Ross', async () => {
    await page.fill('#call-procedure', `${greeting.name}.hello`);
    await page.click('#call-button');
    await logEntry('result', 'Hello, Bob Ross').waitFor(WAIT);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('wamp-frontend.png', ARTIFACTS).pathname, fullPage: true });
  });

  it('shows an error reply as an error', async () => {
    await page.fill('#call-payload', '[[], {"middle_name": "Bob"}]');
    await page.click('#call-button');
    await logEntry('error', 'wamp.error.invalid_argument').waitFor(WAIT);
  });

  it('shows the lost connection, reconnects by itself and subscribes again', async () => {
    await gateway.stop();
    await page.locator('#state:not([data-state="connected"])').waitFor(WAIT);
    gateway = await start({ config, logger: silentLogger });
    await page.locator('#state[data-state="connected"]').waitFor(WAIT);
    await page.locator('#log li.subscribed', { hasText: websocketTest.topic }).nth(1).waitFor(WAIT);
    await fetch(`${http.url}/${websocketTest.name}.hello_websocket`, { method: 'POST', body: '[["again"]]', headers: { 'content-type': 'application/json' } });
    await logEntry('event', '[["again"],{}]').waitFor(WAIT);
  });
});
