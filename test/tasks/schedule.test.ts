// Scheduled tasks: `@task({ every })` and `@task({ cron })` run once per tick across every instance (each tries
// to enqueue the tick under its key, JetStream keeps one), a restart follows `missed`, and a bad schedule stops
// the start with a message that names it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createTaskClient, hostService, Service, task, type HostedService } from '../../mesh/gateway.ts';
import { OwnNatsServer, silentLogger } from '../helpers.ts';

/** Runs every second; counts its runs in a list all instances of the test share. */
class Heartbeat extends Service {
  name = 'heartbeat';
  constructor(private readonly runs: number[]) {
    super();
  }

  @task({ every: '1s' })
  async beat() {
    this.runs.push(Date.now());
  }
}

class Nightly extends Service {
  name = 'nightly';
  @task({ cron: '0 3 * * *', missed: 'once' })
  async report() {
    return 'done';
  }

  @task({ every: '1h' })
  async hourly() {
    return 'done';
  }
}

describe('scheduled tasks', () => {
  let server: OwnNatsServer;
  const connections: NatsConnection[] = [];
  const hosted: HostedService[] = [];

  before(async () => {
    server = await OwnNatsServer.start();
  });

  after(async () => {
    await Promise.all(hosted.map((h) => h.stop()));
    await Promise.all(connections.map((nc) => nc.close()));
    await server?.stop();
  });

  async function instance(service: Service): Promise<HostedService> {
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    const host = await hostService(service, { nc, logger: silentLogger });
    hosted.push(host);
    return host;
  }

  /** How many tasks JetStream has stored in a task's stream since it was made. */
  async function stored(task: string): Promise<number> {
    const jsm = await jetstreamManager(connections[0]!);
    return (await jsm.streams.info(`TASKS_${task.replace('.', '-')}`)).state.last_seq;
  }

  it('runs each tick of `every` once across two instances, though both enqueue it', async () => {
    const runs: number[] = [];
    const started = Date.now();
    const [first, second] = await Promise.all([instance(new Heartbeat(runs)), instance(new Heartbeat(runs))]);
    while (runs.length < 3) await sleep(50);
    await Promise.all([first.stop(), second.stop()]);
    const stopped = Date.now();
    // One task per tick: every tick between start and stop at most once (two tries each), and each ran once.
    const ticks = Math.floor(stopped / 1000) - Math.floor(started / 1000);
    const count = await stored('heartbeat.beat');
    assert.ok(count <= ticks, `${count} tasks stored for ${ticks} ticks`);
    assert.equal(runs.length, count);
    const tasks = createTaskClient(connections[0]!);
    for (let seq = 1; seq <= count; seq++) {
      const status = await tasks.handle(`heartbeat.beat.${seq}`).status();
      assert.deepEqual([status.state, status.attempts], ['succeeded', 1], `heartbeat.beat.${seq}`);
    }
  });

  it('runs the tick missed before the first start once with missed: once, and skips it by default', async () => {
    await instance(new Nightly());
    await instance(new Nightly());
    const tasks = createTaskClient(connections[0]!);
    assert.equal((await tasks.handle('nightly.report.1').result({ timeout: 5_000 }))[0][0], 'done');
    assert.equal(await stored('nightly.report'), 1, 'once, though both instances started');
    assert.equal(await stored('nightly.hourly'), 0);
  });

  it('refuses a bad cron expression or interval when the service is defined, naming the method and the value', () => {
    const define = (options: Parameters<typeof task>[0]) => () => {
      class Bad extends Service {
        name = 'bad';
        @task(options)
        async run() {}
      }
      return new Bad();
    };
    assert.throws(define({ cron: '61 * * * *' }), /@task on 'run': cron: "61 \* \* \* \*" is not a cron expression/);
    assert.throws(define({ every: '5 minutes' }), /@task on 'run': every: "5 minutes" is not an interval of at least 1 s/);
    assert.throws(define({ every: 10 }), /every: 10 is not an interval of at least 1 s/);
    assert.throws(define({ every: '1m', cron: '* * * * *' }), /declare every or cron, not both/);
    assert.throws(define({ every: '1m', missed: 'all' as 'once' }), /missed: "all" is not 'skip' or 'once'/);
  });
});
