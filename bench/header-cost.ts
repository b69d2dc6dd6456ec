// What the fast paths of mesh/wire/nats-internals.ts save, in µs of CPU per request (`node --import tsx bench/header-cost.ts`):
// a host reading a request's headers from the undecoded block against msg.headers, and a caller publishing sealed
// headers against a MsgHdrs nats.js encodes again. The two ways alternate message by message on a real nats-server.
import { connect, headers as natsHeaders, type Msg } from '@nats-io/transport-node';
import { headersWith, readRequestHeaders } from '../mesh/wire/propagation.ts';
import { sealedWith, sealHeaders } from '../mesh/wire/sealed-headers.ts';

const N = Number(process.env.REQUESTS ?? 200_000);
const payload = new TextEncoder().encode('[["Bob"],{}]');
const nc = await connect();
const subject = `header_cost_${process.pid}`;

const traceparent = (i: number) => `00-${(i + 1).toString(16).padStart(32, '0')}-00f067aa0ba902b7-01`;
const us = (ms: number) => ((ms / (N / 2)) * 1000).toFixed(2).padStart(6);

/** Reading N requests' headers (a deadline, and a traceparent of their own when traced): the block, then msg.headers. */
async function reading(traced: boolean): Promise<[number, number]> {
  const took = [0, 0] as [number, number];
  let count = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const sub = nc.subscribe(subject, {
    callback: (_err, msg: Msg) => {
      const decoded = (count++ % 2) as 0 | 1;
      const started = performance.now();
      if (decoded) void msg.headers;
      readRequestHeaders(msg);
      took[decoded] += performance.now() - started;
      if (count === N) done();
    },
  });
  const deadline = String(Date.now() + 60_000);
  for (let i = 0; i < N; i++) {
    const headers = natsHeaders();
    headers.set('Mesh-Deadline', deadline);
    if (traced) headers.set('traceparent', traceparent(i));
    nc.publish(subject, payload, { headers });
    if (i % 1000 === 0) await nc.flush();
  }
  await all;
  sub.unsubscribe();
  return took;
}

/** Publishing N requests with a caller's deadline (and a traceparent of their own when traced): sealed, then plain. */
async function publishing(traced: boolean): Promise<[number, number]> {
  const took = [0, 0] as [number, number];
  const plain = headersWith(undefined, { 'Mesh-Deadline': String(Date.now() + 60_000) });
  const sealed = sealHeaders(plain);
  for (let i = 0; i < N; i++) {
    const unsealed = (i % 2) as 0 | 1;
    const started = performance.now();
    const trace = { traceparent: traceparent(i) };
    const headers = unsealed ? (traced ? headersWith(plain, trace) : plain) : traced ? sealedWith(sealed, trace) : sealed;
    nc.publish(`${subject}.nobody`, payload, { headers, reply: `${subject}.reply` });
    took[unsealed] += performance.now() - started;
    if (i % 1000 === 0) await nc.flush();
  }
  return took;
}

process.stdout.write('µs of CPU per request        fast path   public API\n');
for (const traced of [false, true]) {
  const [block, decoded] = await reading(traced);
  process.stdout.write(`read headers${traced ? ', traced ' : '         '}       ${us(block)}       ${us(decoded)}\n`);
  const [sealed, plain] = await publishing(traced);
  process.stdout.write(`publish headers${traced ? ', traced' : '        '}     ${us(sealed)}       ${us(plain)}\n`);
}
await nc.close();
