// The dashboard panel in a real browser: headless Debian chromium (driven by playwright-core) opens the WAMP
// gateway's page and sees a row for a procedure, with the calls made counted and a uPlot chart of its rate.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NO_CHROMIUM } from '../browser.ts';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { hostService, rpc, Service, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const WAIT = { timeout: 15_000 };
const SERVICE = uniqueName('dashboard_test');

class ShownService extends Service {
  name = SERVICE;

  @rpc async ping() {
    return 'pong';
  }
}

describe('the dashboard panel in chromium', { skip: NO_CHROMIUM }, () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: RunningWampGateway;
  let browser: Browser;
  let page: Page;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted = await hostService(new ShownService(), { nc, logger: silentLogger });
    gateway = await start({ config: testConfig({ 'wamp.port': 0, 'wamp.host': '127.0.0.1' }), logger: silentLogger });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  it('shows a row per procedure with its requests, and charts its rate', async () => {
    for (let i = 0; i < 6; i++) await nc.request(`${SERVICE}.ping`, JSON.stringify([[], {}]));
    await page.goto(gateway.url);
    const row = page.locator(`#dashboard tr[data-procedure="${SERVICE}.ping"]`);
    await row.waitFor(WAIT);
    // Columns: procedure, instances, req/s, requests, errors, in flight, p50, p99, chart.
    const cells = () => row.locator('td').allTextContents();
    const requests = (n: number) => row.locator('td:nth-child(4)', { hasText: new RegExp(`^${n}$`) }).waitFor(WAIT);
    await requests(6);
    assert.deepEqual(
      (await cells()).slice(0, 6).map((c, i) => (i === 2 ? 'rate' : c)),
      [`${SERVICE}.ping`, '1', 'rate', '6', '0', '0'],
    );
    for (let i = 0; i < 4; i++) await nc.request(`${SERVICE}.ping`, JSON.stringify([[], {}]));
    await requests(10);
    assert.match((await cells())[2]!, /^\d+\.\d$/, 'a rate once two refreshes are in');
    assert.equal(await row.locator('td.dashboard-chart canvas').count(), 1, 'a uPlot chart');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('#dashboard').screenshot({ path: new URL('dashboard.png', ARTIFACTS).pathname });
  });
});
