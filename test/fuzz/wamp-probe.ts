// Sends one hostile WAMP frame on a fresh session and judges what the router does against what it promises: a
// reply, an ERROR or ABORT with a wamp.error.* / mesh.error.* URI, or a close with a protocol code; never silence.
import { describe, NumberLiteral } from './wire.ts';
import type { WampCase } from './hostile.ts';
import { RawClient, type Closed, type Frame } from '../gateway-wamp/raw-client.ts';

/** The probe's request id: a SUBSCRIBE sent after the hostile frame, whose SUBSCRIBED shows the session still reads. */
const PROBE_ID = 9_007_199_254_740_000;
/** Each case's probe subscribes to a topic of its own, so one case's broken subscription does not fail the next. */
let probes = 0;
const ERROR_URI = /^(wamp|mesh)\.error\.[a-z0-9_]+(\.[a-z0-9_]+)*$/;
/** Close codes that say why: protocol error, unsupported or invalid data, policy (slow consumer), too big. */
const PROTOCOL_CLOSE_CODES = new Set([1002, 1003, 1007, 1008, 1009]);
/** Router messages that answer a client's request. */
const REPLIES = new Set([17, 33, 35, 50, 65, 67]);

export interface WampOutcome {
  frames: Frame[];
  closed?: Closed;
  probeAnswered: boolean;
  socketError?: string;
}

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 2 ** 53;

/**
 * Messages the router may rightly leave unanswered: a well-formed PUBLISH without acknowledge, CANCEL, YIELD, ERROR.
 * A number literal is what the router reads: over MessagePack its value (`1e2` is the integer 100), over JSON its text.
 */
function silenceAllowed(raw: unknown, binary: boolean): boolean {
  if (!Array.isArray(raw)) return false;
  const message = raw.map((field: unknown) => (binary && field instanceof NumberLiteral ? Number(field.text) : field));
  const type = message[0];
  // ERROR carries the request type first: [8, type, id, details, uri, ...].
  const [id, options] = type === 8 ? message.slice(2) : message.slice(1);
  if (!isId(id) || !isDict(options)) return false;
  // The router reads an option set to null as not given (parse.ts), so `acknowledge: null` asks for no answer.
  if (type === 16) return message.length >= 4 && message.length <= 6 && (options.acknowledge ?? false) === false;
  if (type === 49) return message.length === 3;
  if (type === 70) return message.length >= 3 && message.length <= 5;
  if (type === 8) return message.length >= 5 && message.length <= 7;
  return false;
}

/** SUBSCRIBED or ERROR for the probe. */
const isProbeReply = (frame: Frame) => (frame[0] === 33 && frame[1] === PROBE_ID) || (frame[0] === 8 && frame[1] === 32 && frame[2] === PROBE_ID);

/** A CALL's own `timeout` option (up to 10 s): the router may rightly take that long to answer it. */
function callTimeout(message: unknown): number {
  if (!Array.isArray(message) || message[0] !== 48) return 0;
  const timeout = isDict(message[2]) ? message[2].timeout : undefined;
  return typeof timeout === 'number' && timeout > 0 ? Math.min(timeout, 10_000) : 0;
}

export async function sendWamp(wsUrl: string, c: WampCase, waitMs = 3000): Promise<WampOutcome> {
  const client = await RawClient.open(wsUrl, c.protocol);
  const outcome: WampOutcome = { frames: [], probeAnswered: false };
  client.ws.on('error', (err) => (outcome.socketError = err.message));
  void client.closed.then((closed) => (outcome.closed = closed));
  try {
    if (c.hello) await client.hello();
    client.sendRaw(c.data, c.binary);
    if (c.hello) client.send([32, PROBE_ID, {}, `fuzz_probe.p${++probes}`]);
    const quiet = silenceAllowed(c.message, c.binary);
    const deadline = Date.now() + Math.max(waitMs, callTimeout(c.message) + 1500);
    const done = () => {
      const answered = outcome.frames.some((f) => !isProbeReply(f));
      if (outcome.closed) return true;
      return c.hello ? outcome.probeAnswered && (answered || quiet) : answered;
    };
    while (!done() && Date.now() < deadline) {
      const frame = await Promise.race([client.next(Math.max(1, deadline - Date.now())).catch(() => undefined), client.closed.then(() => undefined)]);
      if (frame === undefined) continue;
      if (isProbeReply(frame)) outcome.probeAnswered = true;
      outcome.frames.push(frame);
      // After ABORT or GOODBYE the router closes the socket: give it the moment to do so.
      if (frame[0] === 3 || frame[0] === 6) await Promise.race([client.closed, new Promise((r) => setTimeout(r, 1000))]);
    }
    return outcome;
  } finally {
    client.ws.terminate();
  }
}

/** Why the outcome breaks the promise, or undefined when it keeps it. */
export function wampProblem(c: WampCase, outcome: WampOutcome): string | undefined {
  const own = outcome.frames.filter((f) => !isProbeReply(f));
  for (const frame of own) {
    const [type] = frame;
    if (type === 8) {
      if (typeof frame[4] !== 'string' || !ERROR_URI.test(frame[4])) return `ERROR with URI ${JSON.stringify(frame[4])}, not wamp.error.* or mesh.error.*: ${describe(JSON.stringify(frame))}`;
    } else if (type === 3) {
      if (typeof frame[2] !== 'string' || !/^wamp\.error\.[a-z_]+$/.test(frame[2])) return `ABORT with reason ${JSON.stringify(frame[2])}`;
    } else if (type === 2) {
      if (c.hello) return 'a second WELCOME';
    } else if (type === 6) {
      if (typeof frame[2] !== 'string' || !frame[2].startsWith('wamp.close.')) return `GOODBYE with reason ${JSON.stringify(frame[2])}`;
    } else if (!REPLIES.has(type as number) && type !== 36 && type !== 68) {
      return `unexpected message ${describe(JSON.stringify(frame))}`;
    }
  }
  const probeError = outcome.frames.find((f) => isProbeReply(f) && f[0] === 8);
  if (probeError) return `after this input a valid SUBSCRIBE fails: ${describe(JSON.stringify(probeError))}`;
  if (outcome.closed) {
    const { code, reason } = outcome.closed;
    // A normal close is right once the router said ABORT or GOODBYE, or the client did.
    const ended = own.some((f) => f[0] === 3 || f[0] === 6) || (Array.isArray(c.message) && (c.message[0] === 3 || c.message[0] === 6));
    if (!PROTOCOL_CLOSE_CODES.has(code) && !(code === 1000 && ended)) {
      return `websocket closed with ${code}${reason ? ` (${reason})` : ''}${code === 1006 ? ': dropped without a close frame' : ''}${outcome.socketError ? `, client saw: ${outcome.socketError}` : ''}`;
    }
    return undefined;
  }
  if (c.hello && !outcome.probeAnswered) return 'silence: neither a reply nor a close, and the session no longer answers SUBSCRIBE';
  if (own.length === 0 && !(c.hello && silenceAllowed(c.message, c.binary))) return 'silence: no reply to the message, no ERROR, no ABORT, no close';
  return undefined;
}

export function describeWamp(c: WampCase): string {
  return `${c.protocol} ${c.hello ? 'after HELLO' : 'before HELLO'}, ${c.binary ? 'binary' : 'text'} frame ${describe(c.data)}`;
}

/** The outcome as a counting key: `ERROR wamp.error.invalid_uri`, `ABORT wamp.error.protocol_violation`, `close 1002`, `RESULT`. */
export function wampOutcomeKey(outcome: WampOutcome): string {
  const own = outcome.frames.filter((f) => !isProbeReply(f));
  const first = own[0];
  const names: Record<number, string> = {
    2: 'WELCOME',
    6: 'GOODBYE',
    17: 'PUBLISHED',
    33: 'SUBSCRIBED',
    35: 'UNSUBSCRIBED',
    36: 'EVENT',
    50: 'RESULT',
    65: 'REGISTERED',
    67: 'UNREGISTERED',
    68: 'INVOCATION',
  };
  const message =
    first === undefined ? 'no reply' : first[0] === 8 ? `ERROR ${String(first[4])}` : first[0] === 3 ? `ABORT ${String(first[2])}` : (names[first[0] as number] ?? `type ${String(first[0])}`);
  return outcome.closed ? `${message}, close ${outcome.closed.code}` : message;
}
