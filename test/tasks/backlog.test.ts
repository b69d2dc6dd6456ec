// A worker before a backlog, on a nats-server of its own: 2,000 tasks queued, concurrency 1, and the consumer's
// figures sampled while it works. It holds at most `concurrency` + one fetch batch un-acked, never the queue.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createTaskClient, hostService, task, type HostedService } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger } from '../helpers.ts';

const QUEUED = 2_000;

class Backlog {
  name = 'backlog';
  done = 0;

  @task({ concurrency: 1 })
  async slow(n: number) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.done++;
    return n;
  }
}

describe('a worker before a backlog', () => {
  let server: OwnNatsServer;
  let nc: NatsConnection;
  let hosted: HostedService | undefined;

  before(async () => {
    server = await OwnNatsServer.start();
    nc = await connect({ servers: server.url });
  });

  after(async () => {
    await hosted?.stop();
    await nc?.close();
    await server?.stop();
  });

  it(`takes ${QUEUED} queued tasks one at a time: never more than concurrency + a fetch batch un-acked`, async () => {
    // The first start makes the queue; the backlog is filled while no worker runs.
    await (await hostService(new Backlog(), { nc, logger: silentLogger })).stop();
    const tasks = createTaskClient(nc);
    for (let sent = 0; sent < QUEUED; sent += 500) await Promise.all(Array.from({ length: 500 }, (_, i) => tasks.enqueue('backlog.slow', [sent + i])));

    const service = new Backlog();
    hosted = await hostService(service, { nc, logger: silentLogger });
    const jsm = await jetstreamManager(nc);
    const pending: number[] = [];
    while (service.done < 20) {
      pending.push((await jsm.consumers.info('TASKS_backlog-slow', 'worker')).num_ack_pending);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await hosted.stop();
    hosted = undefined;
    const info = await jsm.consumers.info('TASKS_backlog-slow', 'worker');
    // A slot frees before its task's ack is sent, so one more fetch may be out: 1 + 1.
    assert.ok(Math.max(...pending) <= 2, `un-acked: ${pending.join(' ')}`);
    assert.ok(
      pending.some((n) => n >= 1),
      'the samples saw the worker holding a task',
    );
    assert.ok(info.delivered.consumer_seq <= service.done + 2, `${info.delivered.consumer_seq} delivered for ${service.done} done`);
    // What was not done is still in the queue, once the last acks have reached the server.
    let queued = 0;
    for (let i = 0; i < 100 && queued + service.done !== QUEUED; i++) {
      queued = (await jsm.streams.info('TASKS_backlog-slow')).state.messages;
      if (queued + service.done !== QUEUED) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(queued + service.done, QUEUED);
  });
});
