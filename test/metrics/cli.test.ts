// `mesh top --once` and `mesh ping` as a user (or compose's health check) runs them, against a real nats-server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { hostService, MeshError, rpc, Service, type HostedService } from '../../mesh/gateway.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';

const MESH = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url));
const run = promisify(execFile);
const SERVICE = uniqueName('top_test');

function mesh(...args: string[]) {
  return run(process.execPath, [MESH, '--nats-url', NATS_URL, ...args], { env: { ...process.env, LOG_LEVEL: 'warn' } });
}

class WatchedService extends Service {
  name = SERVICE;

  @rpc async work() {
    return 'done';
  }

  @rpc async fail() {
    throw new MeshError('NOT_FOUND', 'nothing');
  }
}

describe('mesh top and mesh ping', () => {
  let nc: NatsConnection;
  let hosted: HostedService;

  before(async () => {
    nc = await connect({ servers: NATS_URL });
    hosted = await hostService(new WatchedService(), { nc, logger: silentLogger });
  });

  after(async () => {
    await hosted.stop();
    await nc.drain();
  });

  it('top --once prints a row per procedure with its requests, errors and error codes', async () => {
    for (let i = 0; i < 5; i++) await nc.request(`${SERVICE}.work`, JSON.stringify([[], {}]));
    for (let i = 0; i < 2; i++) await nc.request(`${SERVICE}.fail`, JSON.stringify([[], {}]));
    const { stdout } = await mesh('top', '--once');
    const lines = stdout.split('\n');
    assert.match(lines[0]!, /^PROCEDURE\s+INST\s+REQ\/S\s+REQUESTS\s+ERRORS\s+IN FLIGHT\s+P50 MS\s+P99 MS\s+ERROR CODES$/);
    const cells = (procedure: string) =>
      lines
        .find((line) => line.startsWith(`${procedure} `))
        ?.trim()
        .split(/\s+/);
    const work = cells(`${SERVICE}.work`);
    assert.ok(work, stdout);
    // procedure, instances, rate (none on one snapshot), requests, errors, in flight
    assert.deepEqual(work.slice(0, 6), [`${SERVICE}.work`, '1', '-', '5', '0', '0']);
    assert.match(work[6]!, /^\d+(\.\d+)?$/);
    const fail = cells(`${SERVICE}.fail`);
    assert.deepEqual([fail?.[3], fail?.[4], fail?.at(-1)], ['2', '2', 'NOT_FOUND:2']);
  });

  it('ping exits 0 with the instances of a running service, 1 for a service nobody runs', async () => {
    const { stdout } = await mesh('ping', SERVICE, '--wait', '1000');
    assert.match(stdout, new RegExp(`^${SERVICE} 0\\.1\\.0 \\([A-Za-z0-9]+\\)\\n$`));
    await assert.rejects(mesh('ping', uniqueName('nobody'), '--wait', '300'), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /no instance of .* answers \$SRV\.PING/);
      return true;
    });
  });
});
