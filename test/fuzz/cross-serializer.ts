// Hostile values that cross serializers: a JSON session calls or publishes to a MessagePack one and back, with values
// nested deep, made wide or holding integers past 2^53. One Crossing holds the callees and subscribers of both
// serializers; each case must be answered (RESULT, a coded ERROR, PUBLISHED), and a steady probe measures how the
// other sessions fare meanwhile. Used by the fuzz suite and the soak.
import fc from 'fast-check';
import { RawClient, type Frame } from '../gateway-wamp/raw-client.ts';
import { hostileValue } from './hostile.ts';
import { Nested, NumberLiteral, toJson, toMsgpack, Written, type Hostile } from './wire.ts';

export type WampProtocol = 'wamp.2.json' | 'wamp.2.msgpack';
const PROTOCOLS: WampProtocol[] = ['wamp.2.json', 'wamp.2.msgpack'];
const ERROR_URI = /^(wamp|mesh)\.error\.[a-z0-9_]+(\.[a-z0-9_]+)*$/;
const [CALL, RESULT, ERROR, PUBLISH, PUBLISHED, REGISTER, REGISTERED, SUBSCRIBE, SUBSCRIBED, INVOCATION, YIELD] = [48, 50, 8, 16, 17, 64, 65, 32, 33, 68, 70];

export interface CrossCase {
  from: WampProtocol;
  to: WampProtocol;
  kind: 'call' | 'publish';
  value: Hostile;
}

/** `bytes` as MessagePack bytes. */
const hex = (bytes: string) => Buffer.from(bytes.replace(/ /g, ''), 'hex');

/**
 * Values that must stay exact or be refused with a code: the edges of int64 and uint64, binary (and what only looks
 * like it), a 100k-digit integer, an integer as a map key, binary nested deep.
 */
const exactValue: fc.Arbitrary<Hostile> = fc.constantFrom(
  new Written('18446744073709551615', hex('cf ffffffffffffffff')),
  new Written('-9223372036854775808', hex('d3 8000000000000000')),
  new Written('9007199254740992', hex('cf 0020000000000000')),
  new Written('"\\u0000//4="', hex('c4 02 fffe')),
  new Written('"\\u0000"', hex('c4 00')),
  new Written('"\\u0000not base64!"', hex('a4 00 21 21 21')),
  new Written('"\\u0000//4"', hex('d9 03 00 2f 2f')),
  new Written('9'.repeat(100_000), Buffer.concat([hex('da 86a0'), Buffer.alloc(100_000, 0x39)])),
  new Written('{"5":1}', hex('81 cf 0000000000000005 01')),
  // As deep as the echoing callee (the library's encoder, 100 levels with its YIELD frame) can answer.
  new Written(`${'['.repeat(95)}"\\u0000//4="${']'.repeat(95)}`, Buffer.concat([Buffer.alloc(95, 0x91), hex('c4 02 fffe')])),
);

/** Deep (around the codecs' limit and far past it), wide, integers past 2^53, exact values, and anything else. */
const crossValue: fc.Arbitrary<Hostile> = fc.oneof(
  fc.constantFrom(90, 99, 100, 101, 150, 1000).map((depth) => new Nested(depth)),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i) as Hostile),
  fc.integer({ min: 100, max: 5000 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) as Hostile),
  fc.constantFrom('9007199254740993', '18446744073709551615', '-9223372036854775808', '1e400').map((text) => new NumberLiteral(text)),
  exactValue,
  hostileValue,
);

export const crossCase: fc.Arbitrary<CrossCase> = fc.record({
  from: fc.constantFrom(...PROTOCOLS),
  to: fc.constantFrom(...PROTOCOLS),
  kind: fc.constantFrom('call', 'publish'),
  value: crossValue,
});

function encodeFrame(protocol: WampProtocol, message: Hostile[]): string | Uint8Array {
  return protocol === 'wamp.2.json' ? toJson(message) : toMsgpack(message);
}

export function describeCross(c: CrossCase): string {
  const text = toJson(c.value);
  return `${c.kind} ${c.from} -> ${c.to}: ${text.length > 120 ? `${text.slice(0, 120)}... (${text.length} chars)` : text}`;
}

/** The callees (echo) and subscribers of each serializer, on one topic and two procedures of this run. */
export class Crossing {
  private readonly sessions: RawClient[] = [];
  private nextId = 1;

  private constructor(
    private readonly wsUrl: string,
    readonly prefix: string,
  ) {}

  static async open(wsUrl: string, prefix: string): Promise<Crossing> {
    const crossing = new Crossing(wsUrl, prefix);
    for (const protocol of PROTOCOLS) {
      const callee = await crossing.session(protocol);
      callee.send([REGISTER, 1, {}, crossing.procedure(protocol)]);
      await expect(callee, (f) => f[0] === REGISTERED);
      // Echo every invocation's first argument back.
      callee.ws.on('message', () => void callee.next().then((f) => f[0] === INVOCATION && callee.send([YIELD, f[1], {}, [(f[4] as unknown[])[0]]])));
      const subscriber = await crossing.session(protocol);
      subscriber.send([SUBSCRIBE, 1, {}, crossing.topic(protocol)]);
      await expect(subscriber, (f) => f[0] === SUBSCRIBED);
      subscriber.ws.on('message', () => void subscriber.next());
    }
    return crossing;
  }

  procedure(protocol: WampProtocol): string {
    return `${this.prefix}.${protocol === 'wamp.2.json' ? 'json' : 'msgpack'}_callee`;
  }

  topic(protocol: WampProtocol): string {
    return `${this.prefix}.${protocol === 'wamp.2.json' ? 'json' : 'msgpack'}_news`;
  }

  private async session(protocol: WampProtocol): Promise<RawClient> {
    const client = await RawClient.open(this.wsUrl, protocol);
    this.sessions.push(client);
    await client.hello();
    return client;
  }

  /** The callees and subscribers still open: a case may never end one of them. */
  get intact(): boolean {
    return this.sessions.every((s) => s.ws.readyState === s.ws.OPEN);
  }

  /** Sends the case from a fresh session; what broke the promise, or undefined. */
  async problem(c: CrossCase, waitMs: number): Promise<string | undefined> {
    const client = await RawClient.open(this.wsUrl, c.from);
    try {
      await client.hello();
      const id = this.nextId++;
      const message: Hostile[] = c.kind === 'call' ? [CALL, id, {}, this.procedure(c.to), [c.value], {}] : [PUBLISH, id, { acknowledge: true }, this.topic(c.to), [c.value], {}];
      const frame = encodeFrame(c.from, message);
      client.sendRaw(frame, c.from === 'wamp.2.msgpack');
      const answer = await client.next(waitMs).catch(() => undefined);
      if (!answer) return `no answer within ${waitMs} ms`;
      if (answer[0] === ERROR) return ERROR_URI.test(String(answer[4])) && answer[2] === id ? undefined : `an ERROR without a coded URI: ${JSON.stringify(answer).slice(0, 200)}`;
      if (answer[0] === 3) return undefined; // ABORT: a frame the router may refuse outright (e.g. an id past 2^53)
      const expected = c.kind === 'call' ? RESULT : PUBLISHED;
      return answer[0] === expected && answer[1] === id ? undefined : `unexpected answer ${JSON.stringify(answer).slice(0, 200)}`;
    } finally {
      await client.close();
    }
  }

  async close(): Promise<void> {
    for (const session of this.sessions) await session.close();
  }
}

async function expect(client: RawClient, wanted: (frame: Frame) => boolean): Promise<void> {
  const frame = await client.next();
  if (!wanted(frame)) throw new Error(`unexpected ${JSON.stringify(frame)}`);
}

/** A session calling `procedure` every `everyMs` until stopped: latencies of answered calls, and failures. */
export class SteadyProbe {
  readonly latencies: number[] = [];
  failures = 0;
  private running = true;
  private readonly done: Promise<void>;

  private constructor(
    private readonly client: RawClient,
    procedure: string,
    args: unknown[],
    everyMs: number,
  ) {
    this.done = (async () => {
      for (let id = 1; this.running; id++) {
        const started = performance.now();
        client.send([CALL, id, {}, procedure, args]);
        const answer = await client.next(5000).catch(() => undefined);
        if (answer?.[0] === RESULT && answer[1] === id) this.latencies.push(performance.now() - started);
        else this.failures++;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    })();
  }

  static async start(wsUrl: string, procedure: string, args: unknown[], everyMs = 20): Promise<SteadyProbe> {
    const client = await RawClient.open(wsUrl);
    await client.hello();
    return new SteadyProbe(client, procedure, args, everyMs);
  }

  /** The latency at quantile q (0..1) in ms, of the calls answered so far. */
  quantile(q: number): number {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    await this.client.close();
  }
}
