// Fuzzes the running mesh (greeting_service and both gateways, each a `mesh` CLI process on its own nats-server)
// with every class of hostile input, then checks that no process died, no NATS connection dropped, and a call works.
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { openSession } from '../gateway-wamp/raw-client.ts';
import { startFuzzedMesh, type FuzzedMesh } from './fuzzed-mesh.ts';
import { FIXED_HTTP, FIXED_WAMP, HTTP_CLASSES, WAMP_CLASSES } from './hostile.ts';
import { describeHttp, httpProblem, sendHttp, type HttpInput } from './http-probe.ts';
import { describeWamp, sendWamp, wampProblem } from './wamp-probe.ts';
import { crossCase, Crossing, describeCross, SteadyProbe } from './cross-serializer.ts';
import type { WampCase } from './hostile.ts';

/** FUZZ_SEED reproduces a run; every failure message names the seed it ran with. */
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const HTTP_RUNS = 120;
const WAMP_RUNS = 80;
const CROSS_RUNS = 40;
/** Per class: a class that has not run all its inputs by then fails, saying how many it ran. */
const CLASS_TIME_LIMIT_MS = 20_000;
const FIXED_TIME_LIMIT_MS = 5000;
/** How long a WAMP session may stay silent after a hostile frame. */
const WAMP_WAIT_MS = 2000;

let mesh: FuzzedMesh;
let connectionsBefore: Record<string, number[]>;

async function checkHttp(input: HttpInput): Promise<void> {
  const problem = httpProblem(input, await sendHttp(mesh.httpUrl, input));
  if (problem) throw new Error(`HTTP input ${describeHttp(input)}\n  broke the promise: ${problem}`);
}

async function checkWamp(input: WampCase): Promise<void> {
  const problem = wampProblem(input, await sendWamp(mesh.wsUrl, input, WAMP_WAIT_MS));
  if (problem) throw new Error(`WAMP input ${describeWamp(input)}\n  broke the promise: ${problem}`);
}

/** Runs every input of a class; fails on a broken promise, or when the time limit cut the class short. Says how many ran. */
async function fuzz<T>(t: TestContext, arbitrary: fc.Arbitrary<T>, numRuns: number, check: (input: T) => Promise<void>): Promise<void> {
  const details = await fc.check(fc.asyncProperty(arbitrary, check), { seed: SEED, numRuns, interruptAfterTimeLimit: CLASS_TIME_LIMIT_MS, endOnFailure: true });
  t.diagnostic(`${details.numRuns} of ${numRuns} inputs ran`);
  if (details.failed) {
    throw new Error(
      `${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}\n  (fast-check seed ${details.seed}, path ${details.counterexamplePath}; rerun with FUZZ_SEED=${details.seed})`,
    );
  }
  if (details.interrupted) throw new Error(`interrupted after ${CLASS_TIME_LIMIT_MS} ms: ${details.numRuns} of ${numRuns} inputs ran (seed ${SEED})`);
}

/** Checks every input and returns each problem; past the time limit the rest are reported as not run. */
async function eachWithin<T>(inputs: T[], check: (input: T) => Promise<void>): Promise<string[]> {
  const problems: string[] = [];
  const deadline = Date.now() + FIXED_TIME_LIMIT_MS;
  for (const [i, input] of inputs.entries()) {
    if (Date.now() > deadline) return [...problems, `${inputs.length - i} more inputs not sent: over ${FIXED_TIME_LIMIT_MS} ms`];
    await check(input).catch((err: Error) => problems.push(err.message));
  }
  return problems;
}

before(async () => {
  mesh = await startFuzzedMesh();
  connectionsBefore = await mesh.connectionIds();
  for (const [name, ids] of Object.entries(connectionsBefore)) assert.equal(ids.length, 1, `one NATS connection named ${name} before the fuzz run`);
});

after(() => mesh?.stop());

describe(`HTTP gateway under hostile input (seed ${SEED})`, () => {
  it('answers each fixed hostile request with a coded error or a success', async () => {
    assert.deepEqual(await eachWithin(FIXED_HTTP, checkHttp), []);
  });

  for (const [name, arbitrary] of Object.entries(HTTP_CLASSES)) {
    it(`answers ${name} with a coded error or a success`, (t) => fuzz(t, arbitrary, HTTP_RUNS, checkHttp));
  }
});

describe(`WAMP gateway under hostile input (seed ${SEED})`, () => {
  it('answers each fixed hostile message with a reply, a wamp/mesh error or a protocol close', async () => {
    assert.deepEqual(await eachWithin(FIXED_WAMP, checkWamp), []);
  });

  for (const [name, arbitrary] of Object.entries(WAMP_CLASSES)) {
    it(`answers ${name} with a reply, a wamp/mesh error or a protocol close`, (t) => fuzz(t, arbitrary, WAMP_RUNS, checkWamp));
  }
});

describe(`WAMP across serializers (seed ${SEED})`, () => {
  it('answers deep, wide and big-integer calls and events from each serializer to the other, while other sessions are served', async (t) => {
    const crossing = await Crossing.open(mesh.wsUrl, 'fuzz_cross');
    const probe = await SteadyProbe.start(mesh.wsUrl, 'greeting_service.hello', ['Bob']);
    try {
      await fuzz(t, crossCase, CROSS_RUNS, async (c) => {
        const problem = await crossing.problem(c, WAMP_WAIT_MS);
        if (problem) throw new Error(`${describeCross(c)}\n  broke the promise: ${problem}`);
      });
    } finally {
      await probe.stop();
    }
    // Latency is reported, not asserted: the soak script holds the p99 bound, away from a busy test run.
    t.diagnostic(`steady probe: ${probe.latencies.length} calls, p50 ${probe.quantile(0.5).toFixed(1)} ms, p99 ${probe.quantile(0.99).toFixed(1)} ms`);
    assert.equal(probe.failures, 0, 'every probe call answered');
    assert.ok(crossing.intact, 'no callee or subscriber was closed');
    await crossing.close();
  });
});

describe('the mesh after the fuzz run', () => {
  it('has every process alive', () => {
    assert.deepEqual(mesh.deaths(), []);
  });

  it('never lost a NATS connection: the same client ids as before', async () => {
    assert.deepEqual(await mesh.connectionIds(), connectionsBefore, `nats-server says:\n${mesh.disconnectReasons().join('\n')}`);
  });

  it('still answers greeting_service.hello over HTTP', async () => {
    const response = await fetch(`${mesh.httpUrl}/greeting_service.hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[["Bob"], {"last_name": "Ross"}]' });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '[["Hello, Bob Ross"],{}]');
  });

  it('still answers the GET route /hello/:first_name', async () => {
    const response = await fetch(`${mesh.httpUrl}/hello/Bob?last_name=Ross`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), '[["Hello, Bob Ross"],{}]');
  });

  it('still answers greeting_service.hello over WAMP', async () => {
    const session = await openSession(mesh.wsUrl);
    session.send([48, 1, {}, 'greeting_service.hello', ['Bob'], { last_name: 'Ross' }]);
    const [type, requestId, , args] = await session.next();
    assert.deepEqual([type, requestId, args], [50, 1, ['Hello, Bob Ross']]);
    await session.close();
  });
});
