// The fuzz suite's generators at volume against one mesh run through the CLI: counts every outcome, then prints
// process liveness, NATS disconnects and a normal call. Run by hand (`node --import tsx test/soak/soak.ts`), not in npm test.
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { startFuzzedMesh } from '../fuzz/fuzzed-mesh.ts';
import { HTTP_CLASSES, WAMP_CLASSES } from '../fuzz/hostile.ts';
import { describeHttp, httpProblem, outcomeKey, sendHttp, type HttpInput } from '../fuzz/http-probe.ts';
import { describeWamp, sendWamp, wampOutcomeKey, wampProblem } from '../fuzz/wamp-probe.ts';
import { openSession } from '../gateway-wamp/raw-client.ts';
import { metaChurn } from './meta-churn.ts';
import { patternChurn } from './pattern-churn.ts';
import { crossCase, Crossing, describeCross, SteadyProbe } from '../fuzz/cross-serializer.ts';
import type { WampCase } from '../fuzz/hostile.ts';

const { values: options } = parseArgs({
  options: {
    http: { type: 'string', default: '200000' },
    wamp: { type: 'string', default: '150000' },
    /** Calls and publications from each serializer to the other (deep, wide, big integers), with a steady probe beside them. */
    cross: { type: 'string', default: '5000' },
    /** Sessions that join, leave a testament and go while one session watches the meta events. */
    meta: { type: 'string', default: '3000' },
    /** Callees that register a prefix and a wildcard, are called through them and go. */
    patterns: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    'max-seconds': { type: 'string', default: '1200' },
    seed: { type: 'string' },
    /** A file to append every WAMP input that broke a promise to, whole (JSON lines), to replay it by hand. */
    dump: { type: 'string' },
  },
});
const HTTP_COUNT = Number(options.http);
const WAMP_COUNT = Number(options.wamp);
const CROSS_COUNT = Number(options.cross);
const META_COUNT = Number(options.meta);
const PATTERN_COUNT = Number(options.patterns);
/** The p99 a steady probe's calls must keep while the hostile ones run. */
const PROBE_P99_MS = 250;
const CONCURRENCY = Number(options.concurrency);
const SEED = Number(options.seed ?? Date.now() % 2 ** 31);
const deadline = Date.now() + Number(options['max-seconds']) * 1000;
const BATCH = 500;

interface Tally {
  sent: number;
  outcomes: Map<string, number>;
  /** Distinct problems with their count and first input. */
  problems: Map<string, { count: number; example: string }>;
}

const newTally = (): Tally => ({ sent: 0, outcomes: new Map(), problems: new Map() });
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

function record(tally: Tally, outcome: string, problem: string | undefined, example: () => string): void {
  tally.sent++;
  count(tally.outcomes, outcome);
  if (problem === undefined) return;
  const key = problem.replace(/"[^"]*"/g, '"…"').slice(0, 160);
  const seen = tally.problems.get(key);
  if (seen) seen.count++;
  else tally.problems.set(key, { count: 1, example: `${example()}\n      ${problem}` });
}

function dumpInput(file: string, input: WampCase, problem: string, frames: unknown[]): void {
  const data = typeof input.data === 'string' ? input.data : Buffer.from(input.data).toString('hex');
  appendFileSync(file, `${JSON.stringify({ problem, protocol: input.protocol, hello: input.hello, binary: input.binary, data, frames })}\n`);
}

/** Inputs of every class in turn, drawn in batches from a seeded generator. */
function* inputs<T>(classes: Record<string, fc.Arbitrary<T>>, total: number): Generator<T> {
  const arbitraries = Object.values(classes);
  for (let made = 0, batch = 0; made < total; batch++) {
    const arbitrary = arbitraries[batch % arbitraries.length]!;
    for (const input of fc.sample(arbitrary, { numRuns: Math.min(BATCH, total - made), seed: SEED + batch })) {
      if (made++ >= total) return;
      yield input;
    }
  }
}

async function pool<T>(source: Iterator<T>, work: (input: T) => Promise<void>): Promise<void> {
  const loop = async () => {
    for (let next = source.next(); !next.done && Date.now() < deadline; next = source.next()) await work(next.value);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
}

function progress(label: string, tally: Tally, total: number): NodeJS.Timeout {
  const started = Date.now();
  return setInterval(() => {
    const rate = tally.sent / ((Date.now() - started) / 1000);
    process.stdout.write(`  ${label}: ${tally.sent}/${total} (${rate.toFixed(0)}/s), ${[...tally.problems.values()].reduce((n, p) => n + p.count, 0)} problems\n`);
  }, 10_000);
}

function report(label: string, tally: Tally): void {
  process.stdout.write(`\n${label}: ${tally.sent} sent\n`);
  for (const [key, n] of [...tally.outcomes].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${String(n).padStart(8)}  ${key}\n`);
  process.stdout.write(`${label} problems: ${tally.problems.size === 0 ? 'none' : ''}\n`);
  for (const [key, { count: n, example }] of tally.problems) process.stdout.write(`  ${String(n).padStart(8)}  ${key}\n      first: ${example}\n`);
}

process.stdout.write(`soak: ${HTTP_COUNT} HTTP requests, ${WAMP_COUNT} WAMP frames, ${CONCURRENCY} in flight, seed ${SEED}\n`);
const mesh = await startFuzzedMesh();
let failed: boolean;
try {
  const before = await mesh.connectionIds();
  const http = newTally();
  const wamp = newTally();

  let timer = progress('HTTP', http, HTTP_COUNT);
  await pool(inputs<HttpInput>(HTTP_CLASSES, HTTP_COUNT), async (input) => {
    const outcome = await sendHttp(mesh.httpUrl, input);
    record(http, outcomeKey(outcome), httpProblem(input, outcome), () => describeHttp(input));
  });
  clearInterval(timer);

  timer = progress('WAMP', wamp, WAMP_COUNT);
  await pool(inputs<WampCase>(WAMP_CLASSES, WAMP_COUNT), async (input) => {
    const outcome = await sendWamp(mesh.wsUrl, input).catch((err: Error) => err);
    if (outcome instanceof Error) record(wamp, `session failed: ${outcome.message}`, `could not open a session: ${outcome.message}`, () => describeWamp(input));
    else {
      const problem = wampProblem(input, outcome);
      record(wamp, wampOutcomeKey(outcome), problem, () => describeWamp(input));
      if (problem && options.dump) dumpInput(options.dump, input, problem, outcome.frames);
    }
  });
  clearInterval(timer);

  const cross = newTally();
  const crossing = await Crossing.open(mesh.wsUrl, 'soak_cross');
  const probe = await SteadyProbe.start(mesh.wsUrl, 'greeting_service.hello', ['Bob']);
  timer = progress('cross-serializer', cross, CROSS_COUNT);
  await pool(inputs({ cross: crossCase }, CROSS_COUNT), async (input) => {
    const problem = await crossing.problem(input, 3000).catch((err: Error) => `session failed: ${err.message}`);
    record(cross, problem === undefined ? `${input.kind} answered` : 'broken', problem, () => describeCross(input));
  });
  clearInterval(timer);
  await probe.stop();
  const probeP99 = probe.quantile(0.99);
  const crossingIntact = crossing.intact;
  await crossing.close();

  process.stdout.write(`meta churn: ${META_COUNT} sessions joining, leaving a testament and going\n`);
  const churn = await metaChurn(mesh.wsUrl, META_COUNT);
  process.stdout.write(`pattern churn: ${PATTERN_COUNT} callees registering a prefix and a wildcard, called through them, and going\n`);
  const patterns = await patternChurn(mesh.wsUrl, PATTERN_COUNT);

  report('HTTP', http);
  report('WAMP', wamp);
  report('cross-serializer', cross);
  process.stdout.write(
    `steady probe during cross-serializer: ${probe.latencies.length} calls, ${probe.failures} failed, p50 ${probe.quantile(0.5).toFixed(1)} ms, p99 ${probeP99.toFixed(1)} ms (bound ${PROBE_P99_MS} ms); callees and subscribers ${crossingIntact ? 'intact' : 'CLOSED'}\n`,
  );
  process.stdout.write(`meta churn: ${churn.sessions} sessions, ${churn.problems.length === 0 ? 'every join, leave and testament told once, none left over' : churn.problems.join('; ')}\n`);
  process.stdout.write(
    `pattern churn: ${patterns.callees} callees, ${patterns.calls} calls, ${patterns.problems.length === 0 ? 'each reached its pattern and named the URI called, every registration released' : patterns.problems.slice(0, 5).join('; ')}\n`,
  );
  if (Date.now() >= deadline) process.stdout.write(`\nstopped at --max-seconds ${options['max-seconds']}\n`);

  const deaths = mesh.deaths();
  process.stdout.write(`\nprocesses: ${deaths.length === 0 ? 'all alive' : deaths.join('\n')}\n`);
  const after = await mesh.connectionIds();
  const dropped = Object.keys(before).filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]));
  process.stdout.write(`NATS connections: ${dropped.length === 0 ? 'never dropped' : dropped.map((n) => `${n} ${JSON.stringify(before[n])} -> ${JSON.stringify(after[n])}`).join(', ')}\n`);
  if (dropped.length > 0)
    process.stdout.write(
      `nats-server says:\n${mesh
        .disconnectReasons()
        .map((line) => `  ${line}`)
        .join('\n')}\n`,
    );

  const response = await fetch(`${mesh.httpUrl}/greeting_service.hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[["Bob"], {"last_name": "Ross"}]' });
  const httpCall = `${response.status} ${await response.text()}`;
  const session = await openSession(mesh.wsUrl);
  session.send([48, 1, {}, 'greeting_service.hello', ['Bob'], { last_name: 'Ross' }]);
  const wampCall = JSON.stringify(await session.next().catch((err: Error) => err.message));
  await session.close();
  process.stdout.write(`normal call over HTTP: ${httpCall}\nnormal call over WAMP: ${wampCall}\n`);

  failed =
    http.problems.size > 0 ||
    wamp.problems.size > 0 ||
    cross.problems.size > 0 ||
    churn.problems.length > 0 ||
    patterns.problems.length > 0 ||
    probe.failures > 0 ||
    !(probeP99 < PROBE_P99_MS) ||
    !crossingIntact ||
    deaths.length > 0 ||
    dropped.length > 0 ||
    httpCall !== '200 [["Hello, Bob Ross"],{}]' ||
    !wampCall.startsWith('[50,1,{},["Hello, Bob Ross"]');
} finally {
  await mesh.stop();
}
process.stdout.write(`\n${failed ? 'FAILED' : 'passed'} (seed ${SEED})\n`);
process.exit(failed ? 1 : 0);
