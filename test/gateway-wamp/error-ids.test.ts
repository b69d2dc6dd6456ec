// Error ids on gateway-wamp: every ERROR the router makes, and every error reply it makes for a NATS caller of a
// WAMP callee, carries an id, logged once under it (info; INTERNAL with its stack and a crash report).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { pino } from 'pino';
import { start, type RunningWampGateway } from '../../gateway-wamp/index.ts';
import { MessageType } from '../../gateway-wamp/protocol.ts';
import { jsonCodec, type Report } from '../../mesh/gateway.ts';
import { ERROR_ID, kwargsWithoutErrorId, NATS_URL, reportWithId, testConfig, uniqueName, withoutErrorId } from '../helpers.ts';
import { openSession, type Frame, type RawClient } from './raw-client.ts';

const { ERROR, SUBSCRIBE, UNSUBSCRIBE, PUBLISH, CALL, CANCEL, REGISTER, REGISTERED, UNREGISTER, INVOCATION, YIELD } = MessageType;

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

describe('gateway-wamp error ids', () => {
  let nc: NatsConnection;
  let gateway: RunningWampGateway;
  const lines: Record<string, unknown>[] = [];
  const reported: Report[] = [];
  let crashes: Subscription;
  const clients: RawClient[] = [];

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    crashes = nc.subscribe('mesh.reports.crash', { callback: (_err, msg) => void reported.push(msg.json<Report>()) });
    await nc.flush();
    // A real pino logger whose JSON lines the tests read; frames may pass the NATS max_payload.
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const config = testConfig({ 'wamp.maxMessageBytes': '4mb', 'wamp.maxSubscriptionsPerSession': 1, 'wamp.maxPendingInvocationsPerSession': 1 });
    gateway = await start({ config, logger });
  });

  after(async () => {
    for (const client of clients) await client.close();
    await gateway.stop();
    crashes.unsubscribe();
    await nc.drain();
  });

  async function session(): Promise<RawClient> {
    const client = await openSession(gateway.wsUrl);
    clients.push(client);
    return client;
  }

  /** The log lines under an error id. */
  const loggedUnder = (id: string) => lines.filter((line) => line.error_id === id);

  const crashReport = (errorId: string) => reportWithId(reported, errorId);

  /** Checks an ERROR for the request: its URI, its kwargs the error body with an id; returns the id. */
  function errorId(frame: Frame, requestType: number, requestId: number, uri: string, code: string, status: number): string {
    const [type, answered, id, details, errorUri, args, kwargs] = frame;
    assert.deepEqual([type, answered, id, details, errorUri], [ERROR, requestType, requestId, {}, uri]);
    assert.deepEqual(kwargsWithoutErrorId(kwargs), { code, message: (args as string[])[0], status });
    return (kwargs as { id: string }).id;
  }

  /** One info line under the id, naming the code. */
  function assertRefusalLogged(id: string): void {
    const logged = loggedUnder(id);
    assert.equal(logged.length, 1, `one log line under ${id}`);
    assert.equal(logged[0]!.level, 30);
  }

  it('a YIELD the NATS caller cannot be sent (over max_payload): an error reply with an id, logged with the stack, reported', async () => {
    const callee = await session();
    const procedure = `${uniqueName('shop')}.catalog`;
    callee.send([REGISTER, 1, {}, procedure]);
    assert.deepEqual((await callee.next()).slice(0, 2), [REGISTERED, 1]);
    const headers = natsHeaders();
    headers.set('traceparent', TRACEPARENT);
    const reply = nc.request(procedure, jsonCodec.encode([[], {}]), { timeout: 5000, headers });
    const [type, invocationId] = await callee.next();
    assert.equal(type, INVOCATION);
    callee.send([YIELD, invocationId, {}, ['x'.repeat(nc.info!.max_payload + 1)]]);
    const msg: Msg = await reply;
    const { error } = withoutErrorId(jsonCodec.decode(msg.data)) as { error: unknown };
    assert.deepEqual(error, { code: 'INTERNAL', message: 'the WAMP callee yielded a value that cannot be sent', status: 500 });
    const id = (jsonCodec.decode(msg.data) as { error: { id: string } }).error.id;
    const report = await crashReport(id);
    assert.deepEqual([report.kind, report.service, report.procedure, report.trace_id], ['crash', 'gateway-wamp', procedure, TRACE_ID]);
    assert.match(report.stack ?? '', /MAX_PAYLOAD_EXCEEDED|max.?payload/i);
    const logged = loggedUnder(id);
    assert.equal(logged.length, 1, 'one log line under the error id');
    assert.deepEqual([logged[0]!.level, logged[0]!.procedure, logged[0]!.trace_id], [50, procedure, TRACE_ID]);
  });

  it('every refusal of a SUBSCRIBE, UNSUBSCRIBE, PUBLISH, CALL, REGISTER or UNREGISTER carries an id, logged once as info', async () => {
    const client = await session();
    const topic = `${uniqueName('news')}.today`;
    const procedure = `${uniqueName('shop')}.buy`;
    const refusals: Array<[Frame, number, string, string, number]> = [
      [[SUBSCRIBE, 1, {}, 'not..a.topic'], SUBSCRIBE, 'wamp.error.invalid_uri', 'INVALID_ARGUMENT', 400],
      [[UNSUBSCRIBE, 2, 12345], UNSUBSCRIBE, 'wamp.error.no_such_subscription', 'NOT_FOUND', 404],
      [[PUBLISH, 3, { acknowledge: true }, 'not..a.topic', []], PUBLISH, 'wamp.error.invalid_uri', 'INVALID_ARGUMENT', 400],
      [[PUBLISH, 4, { acknowledge: true, enc_algo: 'cryptobox' }, topic, 'sealed'], PUBLISH, 'wamp.error.option_not_allowed', 'INVALID_ARGUMENT', 400],
      [[CALL, 5, {}, 'not..a.procedure', []], CALL, 'wamp.error.invalid_uri', 'INVALID_ARGUMENT', 400],
      [[REGISTER, 7, { match: 'regex' }, procedure], REGISTER, 'wamp.error.option_not_allowed', 'INVALID_ARGUMENT', 400],
      [[REGISTER, 8, { invoke: 'everyone' }, procedure], REGISTER, 'wamp.error.invalid_argument', 'INVALID_ARGUMENT', 400],
      [[REGISTER, 9, {}, 'not..a.procedure'], REGISTER, 'wamp.error.invalid_uri', 'INVALID_ARGUMENT', 400],
      [[REGISTER, 10, {}, 'mesh.services'], REGISTER, 'wamp.error.not_authorized', 'PERMISSION_DENIED', 403],
      [[UNREGISTER, 11, 12345], UNREGISTER, 'wamp.error.no_such_registration', 'NOT_FOUND', 404],
    ];
    for (const [message, requestType, uri, code, status] of refusals) {
      client.send(message);
      assertRefusalLogged(errorId(await client.next(), requestType, message[1] as number, uri, code, status));
    }
    // Limits: one subscription per session here, and one registration of a URI.
    client.send([SUBSCRIBE, 12, {}, topic]);
    assert.equal((await client.next())[0], MessageType.SUBSCRIBED);
    client.send([SUBSCRIBE, 13, {}, `${topic}.more`]);
    assertRefusalLogged(errorId(await client.next(), SUBSCRIBE, 13, 'mesh.error.too_many_subscriptions', 'RESOURCE_EXHAUSTED', 429));
    client.send([REGISTER, 14, {}, procedure]);
    assert.equal((await client.next())[0], REGISTERED);
    client.send([REGISTER, 15, {}, procedure]);
    assertRefusalLogged(errorId(await client.next(), REGISTER, 15, 'wamp.error.procedure_already_exists', 'CONFLICT', 409));
  });

  it('a CALL past its timeout and a canceled CALL carry an id, logged once as info', async () => {
    const callee = await session();
    const caller = await session();
    const procedure = `${uniqueName('shop')}.slow`;
    callee.send([REGISTER, 1, {}, procedure]);
    assert.equal((await callee.next())[0], REGISTERED);
    caller.send([CALL, 1, { timeout: 100 }, procedure, []]);
    const [, late] = await callee.next();
    assertRefusalLogged(errorId(await caller.next(), CALL, 1, 'wamp.error.timeout', 'DEADLINE_EXCEEDED', 504));
    // Answered too late (the callee may owe one answer at a time here).
    callee.send([YIELD, late, {}, []]);
    caller.send([CALL, 2, {}, procedure, []]);
    const [type, invocationId] = await callee.next();
    assert.equal(type, INVOCATION);
    // Mode kill (the default): the callee is interrupted, and the caller answered once the callee has answered.
    caller.send([CANCEL, 2, {}]);
    assert.equal((await callee.next())[0], MessageType.INTERRUPT);
    callee.send([MessageType.ERROR, INVOCATION, invocationId, {}, 'wamp.error.canceled', []]);
    assertRefusalLogged(errorId(await caller.next(), CALL, 2, 'wamp.error.canceled', 'CANCELED', 499));
  });

  it('error replies to a NATS caller of a WAMP callee carry an id, logged once as info', async () => {
    const callee = await session();
    const procedure = `${uniqueName('shop')}.order`;
    callee.send([REGISTER, 1, {}, procedure]);
    assert.equal((await callee.next())[0], REGISTERED);
    const request = () => nc.request(procedure, jsonCodec.encode([[], {}]), { timeout: 5000 });
    const errorOf = (msg: Msg) => (jsonCodec.decode(msg.data) as { error: { id: string; code: string } }).error;

    // The callee answers ERROR: it enters the mesh here, with an id.
    const answered = request();
    const [, first] = await callee.next();
    callee.send([ERROR, INVOCATION, first, {}, 'mesh.error.not_found', ['no such order']]);
    const notFound = errorOf(await answered);
    assert.equal(notFound.code, 'NOT_FOUND');
    assert.match(notFound.id, ERROR_ID);
    assertRefusalLogged(notFound.id);

    // It owes one answer already (wamp.maxPendingInvocationsPerSession is 1): the next request is refused.
    const owed = request();
    await callee.next();
    const exhausted = errorOf(await request());
    assert.equal(exhausted.code, 'RESOURCE_EXHAUSTED');
    assert.match(exhausted.id, ERROR_ID);
    assertRefusalLogged(exhausted.id);

    // The callee leaves: the caller it owed gets wamp.error.canceled with an id.
    await callee.close();
    const gone = errorOf(await owed);
    assert.equal(gone.code, 'UNAVAILABLE');
    assert.match(gone.id, ERROR_ID);
    assertRefusalLogged(gone.id);
  });
});
