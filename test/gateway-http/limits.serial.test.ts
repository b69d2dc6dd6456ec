// gateway-http's server limits, with raw sockets: slow headers and slow bodies are cut with 408, too many
// connections get 503, huge headers 431 and garbage 400; only the offending connection is affected.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect as connectTcp, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { start } from '../../gateway-http/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { NATS_URL, silentLogger, testConfig, uniqueName } from '../helpers.ts';

interface RawReply {
  text: string;
  ms: number;
}

/** Opens a raw connection to the gateway; `reply` resolves with all it received once the server closes it. */
async function rawSocket(url: string): Promise<{ socket: Socket; reply: Promise<RawReply> }> {
  const { hostname, port } = new URL(url);
  const socket = connectTcp(Number(port), hostname);
  await once(socket, 'connect');
  const started = performance.now();
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  const reply = once(socket, 'close').then(() => ({ text, ms: performance.now() - started }));
  return { socket, reply };
}

/** Writes `chunks` one by one every `everyMs` until the socket closes. */
function dribble(socket: Socket, chunks: string[], everyMs: number): NodeJS.Timeout {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= chunks.length) return clearInterval(timer);
    socket.write(chunks[i++]!);
  }, everyMs);
  return timer;
}

function errorCode(raw: string): string | undefined {
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(body) as { error: { code: string } }).error.code;
}

describe('gateway-http limits', () => {
  let nc: NatsConnection;
  let services: HostedService[];
  let gateway: Awaited<ReturnType<typeof start>>;
  const greeting = new GreetingService();
  greeting.name = uniqueName('limits');
  const call = () => fetch(`${gateway.url}/${greeting.name}.hello`, { method: 'POST', body: '[["Bob"]]', headers: { 'content-type': 'application/json' } });

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    services = [await hostService(greeting, { nc, logger: silentLogger })];
    gateway = await start({
      config: testConfig({
        'http.headersTimeoutMs': 600,
        'http.requestTimeoutMs': 1200,
        'http.maxConnections': 4,
        'http.maxHeaderBytes': '4kb',
      }),
      logger: silentLogger,
    });
  });

  after(async () => {
    await gateway.stop();
    await Promise.all(services.map((s) => s.stop()));
    await nc.drain();
  });

  it('cuts a client that sends its body a byte at a time with 408, while a normal call succeeds', async () => {
    const slow = await rawSocket(gateway.url);
    slow.socket.write(`POST /${greeting.name}.hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[`);
    const timer = dribble(slow.socket, Array(100).fill(' '), 200);
    await new Promise((r) => setTimeout(r, 300));
    const res = await call();
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '[["Hello, Bob"],{}]');
    const { text, ms } = await slow.reply;
    clearInterval(timer);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.equal(errorCode(text), 'REQUEST_TIMEOUT');
    assert.ok(ms >= 1000 && ms < 4000, `cut after ${ms.toFixed(0)} ms`);
  });

  it('cuts a client that sends its headers a line at a time with 408', async () => {
    const slow = await rawSocket(gateway.url);
    slow.socket.write(`POST /${greeting.name}.hello HTTP/1.1\r\n`);
    const timer = dribble(
      slow.socket,
      Array.from({ length: 100 }, (_, i) => `X-Slow-${i}: 1\r\n`),
      150,
    );
    const { text, ms } = await slow.reply;
    clearInterval(timer);
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.equal(errorCode(text), 'REQUEST_TIMEOUT');
    assert.ok(ms >= 500 && ms < 3000, `cut after ${ms.toFixed(0)} ms`);
  });

  it('answers 503 beyond maxConnections, and serves again once connections close', async () => {
    const held = await Promise.all([1, 2, 3, 4].map(() => rawSocket(gateway.url)));
    await new Promise((r) => setTimeout(r, 50));
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${gateway.url}/${greeting.name}.hello`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end('[["Bob"]]');
    });
    assert.equal(refused.status, 503);
    assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'UNAVAILABLE');
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map((h) => h.reply));
    assert.equal((await call()).status, 200);
  });

  it('answers 431 for headers over maxHeaderBytes and 400 for garbage, each with a coded body', async () => {
    const big = await rawSocket(gateway.url);
    big.socket.write(`POST /${greeting.name}.hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(8000)}\r\n\r\n`);
    const bigReply = await big.reply;
    assert.match(bigReply.text, /^HTTP\/1\.1 431 /);
    assert.equal(errorCode(bigReply.text), 'HEADERS_TOO_LARGE');

    const garbage = await rawSocket(gateway.url);
    garbage.socket.write('\x00\x01\x02 not http at all\r\n\r\n');
    const garbageReply = await garbage.reply;
    assert.match(garbageReply.text, /^HTTP\/1\.1 400 /);
    assert.equal(errorCode(garbageReply.text), 'INVALID_ARGUMENT');
    assert.equal((await call()).status, 200);
  });
});
