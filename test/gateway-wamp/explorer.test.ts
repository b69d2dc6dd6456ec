// The page as a mesh explorer in chromium at phone width (390 px): it lists the services from mesh.services first,
// calls greeting's hello through the form built from its schema, shows a field-level error next to its field, and
// fits the phone (no overflow, figures' headers within two lines); it has an icon.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NO_CHROMIUM } from '../browser.ts';
import { start } from '../../gateway-wamp/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';

const ARTIFACTS = new URL('../artifacts/', import.meta.url);
const WAIT = { timeout: 15_000 };

describe('the mesh explorer page in chromium at 390 px', { skip: NO_CHROMIUM }, () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  let browser: Browser;
  let page: Page;
  const greeting = new GreetingService();
  // A name with no place to break, wider than a phone: the figures table must still fit its panel.
  greeting.name = uniqueName('greeting_service_named_longer_than_a_phone_is_wide');

  before(async () => {
    const config = testConfig();
    nc = await connect({ servers: config.nats.url });
    hosted = await hostService(greeting, { nc, logger: silentLogger });
    gateway = await start({ config, logger: silentLogger });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  const procedure = () => page.locator(`details.procedure[data-procedure="${greeting.name}.hello"]`);

  it('lists the services and procedures the router knows', async () => {
    await page.goto(gateway.url);
    await page.locator('#state[data-state="connected"]').waitFor(WAIT);
    await page.locator(`details.service[data-service="${greeting.name}"]`).waitFor(WAIT);
    assert.match(await page.locator(`details.service[data-service="${greeting.name}"] > summary`).innerText(), /1\.0\.0 · 1 instance/);
    assert.equal(await page.locator(`details.service[data-service="${greeting.name}"] details.procedure`).count(), 2);
  });

  it('calls hello through the form generated from its schema, with latency in the history', async () => {
    await procedure().locator('summary').click();
    await procedure().locator('input[name="first_name"]').fill('Bob');
    await procedure().locator('input[name="last_name"]').fill('Ross');
    await procedure().locator('button[type="submit"]').click();
    await procedure().locator('.outcome.ok', { hasText: '"Hello, Bob Ross"' }).waitFor(WAIT);
    assert.match(await page.locator('#history li.result').first().innerText(), new RegExp(`${greeting.name}\\.hello ok in \\d+\\.\\d ms`));
  });

  it('shows the INVALID_ARGUMENT detail next to the missing field', async () => {
    await procedure().locator('input[name="first_name"]').fill('');
    await procedure().locator('button[type="submit"]').click();
    const error = procedure().locator('label.field[data-field="first_name"] .field-error');
    await error.filter({ hasText: /\S/ }).waitFor(WAIT);
    assert.match(await error.innerText(), /required/i);
    assert.equal(await procedure().locator('label.field[data-field="last_name"] .field-error').innerText(), '');
    await page.screenshot({ path: new URL('wamp-explorer-390.png', ARTIFACTS).pathname, fullPage: true });
  });

  it('has no horizontal overflow at 390 px', async () => {
    const [scrollWidth, clientWidth] = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as [number, number];
    assert.ok(scrollWidth <= clientWidth, `page is ${scrollWidth} px wide in a ${clientWidth} px viewport`);
  });

  it('shows the services first, before every other panel', async () => {
    assert.equal(await page.locator('main > section').first().getAttribute('id'), 'explorer');
  });

  it("keeps the figures table's header cells within two lines, and the table within its panel", async () => {
    await page.locator('#dashboard tbody tr').first().waitFor(WAIT);
    const { cells, tableWidth, panelWidth } = (await page.evaluate(`(() => {
      const visible = [...document.querySelectorAll('#dashboard th')].filter((th) => th.getClientRects().length > 0);
      const cells = visible.map((th) => {
        const style = getComputedStyle(th);
        const lines = (th.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)) / parseFloat(style.lineHeight);
        return { text: th.textContent, lines };
      });
      const wrap = document.querySelector('#dashboard .table-wrap');
      return { cells, tableWidth: wrap.scrollWidth, panelWidth: wrap.clientWidth };
    })()`)) as { cells: { text: string; lines: number }[]; tableWidth: number; panelWidth: number };
    assert.ok(cells.length >= 3, 'a phone still shows the procedure and some figures');
    for (const { text, lines } of cells) assert.ok(lines <= 2.1, `header "${text}" is ${lines.toFixed(1)} lines tall`);
    assert.ok(tableWidth <= panelWidth, `the table is ${tableWidth} px wide in a ${panelWidth} px panel`);
    await page.locator('#dashboard').screenshot({ path: new URL('dashboard-390.png', ARTIFACTS).pathname });
  });

  it('has an icon, served by the gateway', async () => {
    const href = (await page.evaluate(`document.querySelector('link[rel="icon"]').href`)) as string;
    const res = await fetch(href);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.match(await res.text(), /^<svg /);
  });

  it('registers a procedure from the register panel, and it answers calls', async () => {
    const name = `${uniqueName('page')}.echo`;
    await page.fill('#register-procedure', name);
    await page.click('#register-button');
    await page.locator('#log li.registered', { hasText: name }).waitFor(WAIT);
    const reply = await fetchCall(name);
    assert.deepEqual(reply, [['hi'], { x: 1 }]);
  });

  async function fetchCall(name: string): Promise<unknown> {
    const msg = await nc.request(name, new TextEncoder().encode(JSON.stringify([['hi'], { x: 1 }])), { timeout: 5000 });
    return JSON.parse(new TextDecoder().decode(msg.data));
  }
});
