// The page's task queues panel in a real browser (Debian chromium via playwright-core), on a nats-server of its own
// with JetStream: it shows a queue and a dead task, and its Retry button enqueues the dead task again, which then runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NO_CHROMIUM } from '../browser.ts';
import { start } from '../../gateway-wamp/index.ts';
import { createTaskClient, hostService, task, type HostedService } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger, testConfig } from '../helpers.ts';

const WAIT = { timeout: 15_000 };

class Invoices {
  name = 'invoices';
  /** The printer is out of paper until a test fills it. */
  paper = false;
  printed: string[] = [];

  @task({ retries: { max: 0 } })
  async print(number: string) {
    if (!this.paper) throw new Error('out of paper');
    this.printed.push(number);
    return number;
  }
}

describe("the WAMP page's task queues, in chromium", { skip: NO_CHROMIUM }, () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  let browser: Browser;
  let page: Page;
  const invoices = new Invoices();

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
    hosted = await hostService(invoices, { nc, logger: silentLogger });
    gateway = await start({ config: testConfig({ 'nats.url': server.url }), logger: silentLogger });
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    await hosted?.stop();
    await nc?.close();
    await server?.stop();
  });

  it('shows the queue and the dead task, and retries it with its Retry button', async () => {
    const handle = await createTaskClient(nc).enqueue('invoices.print', ['INV-7']);
    await assert.rejects(handle.result({ timeout: 10_000 }));
    await page.goto(gateway.url);
    await page.locator('#task-queues tr[data-task="invoices.print"]').waitFor(WAIT);
    const dead = page.locator(`#dead-tasks tr[data-id="${handle.id}"]`);
    await dead.waitFor(WAIT);
    assert.match((await dead.textContent()) ?? '', /failed 1 attempt.*INTERNAL: the task failed/);

    invoices.paper = true;
    await dead.locator('button[data-retry]').click();
    await page.locator('#log li.result', { hasText: `mesh.tasks.retry ${handle.id}: enqueued again as invoices.print.` }).waitFor(WAIT);
    await dead.waitFor({ state: 'detached', ...WAIT });
    const logged = (await page.locator('#log li.result', { hasText: 'mesh.tasks.retry' }).first().textContent()) ?? '';
    const retried = /enqueued again as (invoices\.print\.\d+)/.exec(logged)![1]!;
    assert.deepEqual(await createTaskClient(nc).handle(retried).result({ timeout: 10_000 }), [['INV-7'], {}]);
    assert.deepEqual(invoices.printed, ['INV-7']);
  });
});
