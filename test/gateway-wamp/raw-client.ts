// A WAMP client for tests that speaks raw frames: it sends exactly what a test gives it and hands back each
// message the router sends, decoded but not interpreted, so tests can assert the exact frames.
import { decode, encode } from '@msgpack/msgpack';
import { WebSocket, type ClientOptions } from 'ws';

export type Frame = unknown[];

/** How the client reads a frame from the router: by default as the libraries do, integers past 2^53 as floats. */
export type FrameReader = (data: Buffer, isBinary: boolean) => Frame;

const readFrame: FrameReader = (data, isBinary) => (isBinary ? decode(data) : JSON.parse(data.toString('utf8'))) as Frame;

export interface Closed {
  code: number;
  reason: string;
}

export class RawClient {
  private readonly queue: Frame[] = [];
  private readonly waiting: Array<(frame: Frame) => void> = [];
  readonly closed: Promise<Closed>;

  private constructor(
    readonly ws: WebSocket,
    read: FrameReader,
  ) {
    ws.on('message', (data: Buffer, isBinary) => {
      const frame = read(data, isBinary);
      const waiter = this.waiting.shift();
      if (waiter) waiter(frame);
      else this.queue.push(frame);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string, protocol: 'wamp.2.json' | 'wamp.2.msgpack' = 'wamp.2.json', options: ClientOptions = {}, read = readFrame): Promise<RawClient> {
    const ws = new WebSocket(url, [protocol], options);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new RawClient(ws, read);
  }

  get binary(): boolean {
    return this.ws.protocol === 'wamp.2.msgpack';
  }

  /** Sends a message encoded with the session's serializer. */
  send(message: Frame): void {
    this.ws.send(this.binary ? encode(message) : JSON.stringify(message), { binary: this.binary });
  }

  /** Sends bytes or text as they are, in a binary or a text frame. */
  sendRaw(data: string | Uint8Array, binary: boolean): void {
    this.ws.send(data, { binary });
  }

  /** The next message from the router; fails the test after timeoutMs instead of hanging. */
  next(timeoutMs = 3000): Promise<Frame> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error(`no message from the router within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.waiting.push(waiter);
    });
  }

  /** HELLO, expecting WELCOME; resolves with the session id. */
  async hello(realm = 'realm1'): Promise<number> {
    this.send([1, realm, { roles: { subscriber: {}, publisher: {}, caller: {}, callee: {} } }]);
    const welcome = await this.next();
    if (welcome[0] !== 2) throw new Error(`expected WELCOME, got ${JSON.stringify(welcome)}`);
    return welcome[1] as number;
  }

  close(): Promise<Closed> {
    this.ws.close();
    return this.closed;
  }
}

/** An established raw session. */
export async function openSession(url: string, protocol?: 'wamp.2.json' | 'wamp.2.msgpack'): Promise<RawClient> {
  const client = await RawClient.open(url, protocol);
  await client.hello();
  return client;
}
