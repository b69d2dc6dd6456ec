// Everything the HTTP gateway prints is a structured log line: run as `mesh gateway http` with LOG_FORMAT=json,
// fed malformed HTTP, huge headers, bad bodies and aborted requests, every stdout and stderr line is JSON.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { hostService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));

/** Sends raw bytes and waits until the gateway closes the connection (or `waitMs`, then closes it). */
async function sendRaw(url: string, bytes: string, waitMs = 2000): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connectTcp(Number(port), hostname);
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.write(bytes);
  const timer = setTimeout(() => socket.destroy(), waitMs);
  await once(socket, 'close');
  clearTimeout(timer);
  return text;
}

describe('gateway-http logs', () => {
  it('prints only JSON lines, one per bad request, without stacks', async (t) => {
    const nc = await connect({ servers: NATS_URL });
    const greeting = new GreetingService();
    greeting.name = uniqueName('logs');
    const hosted = await hostService(greeting, { nc, logger: silentLogger });
    const child = spawn(process.execPath, [MESH, 'gateway', 'http', '--port', '0', '--host', '127.0.0.1'], {
      env: { ...process.env, NATS_URL, LOG_FORMAT: 'json', LOG_LEVEL: 'info', HTTP_MAX_HEADER_BYTES: '4kb' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await hosted.stop();
      await nc.drain();
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = once(child, 'exit');
    let url: string | undefined;
    for (let i = 0; i < 200 && !url; i++) {
      await new Promise((r) => setTimeout(r, 50));
      url = /"url":"(http:\/\/[^"]+)"/.exec(output)?.[1];
    }
    assert.ok(url, `the gateway printed its URL: ${output}`);

    const procedure = `${url}/${greeting.name}.hello`;
    assert.match(await sendRaw(url, 'GARBAGE \x00\x01 nonsense\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await sendRaw(url, `POST /${greeting.name}.hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(6000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    assert.match(await sendRaw(url, 'POST /a.b HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'), /^HTTP\/1\.1 400 /);
    await sendRaw(url, `POST /${greeting.name}.hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n[["half`, 200);
    const post = (body: string, type = 'application/json') => fetch(procedure, { method: 'POST', body, headers: { 'content-type': type } });
    assert.equal((await post('{bad json')).status, 400);
    assert.equal((await post(`[["${'x'.repeat(2 * 1024 * 1024)}"]]`)).status, 413);
    assert.equal((await post('[]', 'application/xml')).status, 415);
    assert.equal((await post('[["Ok"]]')).status, 200);

    child.kill('SIGTERM');
    await exited;
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    for (const line of lines) {
      let entry: { stack?: unknown; err?: { stack?: unknown } };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        assert.fail(`not a JSON log line: ${line.slice(0, 200)}`);
      }
      assert.equal(entry.err?.stack, undefined, line);
    }
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    // Garbage, oversized headers, a bad Content-Length, and the request cut off in its body: one line each.
    assert.equal(messages.filter((m) => m === 'http client error').length, 4, output);
    assert.equal(messages.filter((m) => m === 'bad request body').length, 1, output);
  });
});
