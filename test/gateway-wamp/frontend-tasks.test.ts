// The page's task queues panel in a real browser (Debian chromium via playwright-core), on a nats-server of its own
// with JetStream: it shows a queue and a dead task, and its Retry button enqueues the dead task again, which then runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NO_CHROMIUM } from '../browser.ts';
import { start } from '../../gateway-wamp/index.ts';
import { task } from '../../mesh/gateway.ts';
import { silentLogger, testConfig } from '../helpers.ts';
import { startTaskMesh, type TaskMesh } from '../tasks/task-mesh.ts';

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
  let mesh: TaskMesh;
  let gateway: Awaited<ReturnType<typeof start>>;
  let browser: Browser;
  let page: Page;
  const invoices = new Invoices();

  before(async () => {
    mesh = await startTaskMesh(invoices);
    gateway = await start({ config: testConfig({ 'nats.url': mesh.server.url }), logger: silentLogger });
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    await mesh?.stop();
  });

  it('shows the queue and the dead task, and retries it with its Retry button', async () => {
    const handle = await mesh.tasks.enqueue('invoices.print', ['INV-7']);
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
    assert.deepEqual(await mesh.tasks.handle(retried).result({ timeout: 10_000 }), [['INV-7'], {}]);
    assert.deepEqual(invoices.printed, ['INV-7']);
  });
});
