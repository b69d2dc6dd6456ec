// The CPU time a responder process spends per request (`node --import tsx bench/host-cpu.ts [raw,plain,schema]`):
// a raw nats.js responder, greeting as a plain @rpc, and greeting with its zod schema. CPU time per request
// moves much less than throughput on a busy 2-core machine, so it shows what each layer of the host costs.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { createCaller, createLogger, hostService, rpc } from '../mesh/gateway.ts';
import GreetingService from '../services/greeting/index.ts';
import { greet, REQUEST_JSON } from './baselines/greeting.ts';

const REQUESTS = 30_000;
const IN_FLIGHT = 64;
type Kind = 'raw' | 'plain' | 'schema';

async function respond(kind: Kind): Promise<void> {
  const nc = await connect();
  const name = `host_cpu_${process.pid}`;
  class PlainGreeting {
    name = name;
    @rpc async hello(first_name: string, last_name = '') {
      return `Hello, ${first_name} ${last_name}`.trim();
    }
  }
  if (kind === 'raw') {
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    nc.subscribe(`${name}.hello`, { queue: 'q', callback: (_err, msg) => msg.respond(encoder.encode(JSON.stringify(greet(JSON.parse(decoder.decode(msg.data)))))) });
  } else {
    const service = kind === 'schema' ? Object.assign(new GreetingService(), { name }) : new PlainGreeting();
    await hostService(service, { nc, logger: createLogger({ level: 'info', format: 'json' }, 'host-cpu') });
  }
  await nc.flush();
  let since = process.cpuUsage();
  process.on('message', (message) => {
    if (message === 'start') since = process.cpuUsage();
    if (message === 'stop') {
      const used = process.cpuUsage(since);
      process.send!({ microseconds: used.user + used.system });
    }
  });
  process.send!({ subject: `${name}.hello` });
}

async function measure(kind: Kind): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['respond', kind], { execArgv: ['--import', 'tsx'] });
  const next = <T>() => new Promise<T>((resolve) => child.once('message', (message) => resolve(message as T)));
  const { subject } = await next<{ subject: string }>();
  const nc = await connect();
  const caller = createCaller(nc, { timeoutMs: 10_000 });
  const body = new TextEncoder().encode(REQUEST_JSON);
  const load = async (count: number) => {
    let sent = 0;
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (sent++ < count) await caller.request(subject, body);
    }));
  };
  await load(5_000);
  child.send('start');
  await load(REQUESTS);
  child.send('stop');
  const { microseconds } = await next<{ microseconds: number }>();
  caller.close();
  await nc.close();
  child.kill();
  return microseconds / REQUESTS;
}

if (process.argv[2] === 'respond') {
  await respond(process.argv[3] as Kind);
} else {
  for (const kind of (process.argv[2] ?? 'raw,plain,schema').split(',') as Kind[]) {
    process.stdout.write(`${kind.padEnd(7)} ${(await measure(kind)).toFixed(2)} µs of responder CPU per request\n`);
  }
}
