// Many websocket subscribers in one process, for the fan-out benchmark: raw sockets (the bare ws
// baseline) or WAMP sessions (HELLO, SUBSCRIBE) that count EVENT frames without parsing them; each event's
// payload is checked by its last bytes, the event's [args, kwargs], which both kinds end with.
import WebSocket from 'ws';
import { serve } from './ipc.ts';

interface ConnectMessage {
  op: 'connect';
  url: string;
  count: number;
  mode: 'raw' | 'wamp';
  topic: string;
  realm?: string;
}

interface ExpectMessage {
  op: 'expect';
  events: number;
  timeoutMs: number;
}

/** How the publisher's event [["websockets"], {"are": "awesome"}] ends, as a raw message and inside a WAMP EVENT. */
const EVENT_TAIL = Buffer.from('["websockets"],{"are":"awesome"}]');

const sockets: WebSocket[] = [];
let received = 0;
let wrong = 0;
let firstWrong = '';
let lastAt = 0;
let onEvent: (() => void) | undefined;
const now = () => performance.timeOrigin + performance.now();

function countEvent(data: Buffer): void {
  if (data.length < EVENT_TAIL.length || !data.subarray(data.length - EVENT_TAIL.length).equals(EVENT_TAIL)) {
    if (wrong++ === 0) firstWrong = data.toString('utf8', 0, 200);
  }
  received++;
  lastAt = now();
  onEvent?.();
}

function open({ url, mode, topic, realm = 'realm1' }: ConnectMessage): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = mode === 'wamp' ? new WebSocket(url, 'wamp.2.json', { perMessageDeflate: false }) : new WebSocket(url, { perMessageDeflate: false });
    socket.once('error', reject);
    if (mode === 'raw') {
      socket.once('open', () => resolve(socket));
      socket.on('message', (data: Buffer) => countEvent(data));
      return;
    }
    socket.once('open', () => socket.send(JSON.stringify([1, realm, { roles: { subscriber: {} } }])));
    socket.on('message', (data: Buffer) => {
      if (data[1] === 0x33 && data[2] === 0x36) return countEvent(data);
      const message = JSON.parse(data.toString()) as unknown[];
      if (message[0] === 2) socket.send(JSON.stringify([32, 1, {}, topic]));
      else if (message[0] === 33) resolve(socket);
      else reject(new Error(`unexpected WAMP message ${data.toString().slice(0, 80)}`));
    });
  });
}

async function connectAll(message: ConnectMessage): Promise<{ sessions: number }> {
  for (let i = 0; i < message.count; i += 200) {
    const batch = Math.min(200, message.count - i);
    sockets.push(...(await Promise.all(Array.from({ length: batch }, () => open(message)))));
  }
  return { sessions: sockets.length };
}

function expect({ events, timeoutMs }: ExpectMessage): Promise<{ received: number; lastAt: number; wrong: number; firstWrong: string }> {
  const target = received + events * sockets.length;
  const start = received;
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      onEvent = undefined;
      resolve({ received: received - start, lastAt, wrong, firstWrong });
    };
    const timer = setTimeout(finish, timeoutMs);
    onEvent = () => received >= target && finish();
  });
}

serve(
  {},
  async (message) => {
    if (message.op === 'connect') return connectAll(message as unknown as ConnectMessage);
    if (message.op === 'expect') return expect(message as unknown as ExpectMessage);
    throw new Error(`unknown op ${String(message.op)}`);
  },
  async () => {
    for (const socket of sockets) socket.terminate();
  },
);
