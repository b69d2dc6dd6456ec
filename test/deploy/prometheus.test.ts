// The monitoring profile of the compose file, checked without a Docker engine: promtool accepts the scrape
// config, it scrapes each gateway's /metrics and ONE /metrics/mesh, and every container's health check asks the right thing.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { checkConfig } from '../metrics/promtool.ts';
import type { ProcessContext } from '../../mesh/gateway.ts';
import { silentLogger, testConfig } from '../helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = 'deploy/prometheus/prometheus.yml';
const run = promisify(execFile);

interface ComposeService {
  command?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  ports?: Array<string | { host_ip?: string; published?: string | number; target: number }>;
  volumes?: Array<string | { source?: string; target: string }>;
}

interface ScrapeConfig {
  job_name: string;
  metrics_path: string;
  static_configs: Array<{ targets: string[] }>;
}

async function composeServices(): Promise<Record<string, ComposeService>> {
  const { stdout } = await run('docker-compose', ['--profile', 'monitoring', 'config'], { cwd: root });
  return (parse(stdout) as { services: Record<string, ComposeService> }).services;
}

/** The name a service class in services/<folder> gives itself. */
async function serviceNameOf(folder: string): Promise<string> {
  const module = (await import(`../../${folder}/index.ts`)) as { default: new (context: ProcessContext) => { name: string } };
  return new module.default({ config: testConfig(), logger: silentLogger }).name;
}

describe('compose monitoring profile', () => {
  it('has a scrape config promtool accepts', () => {
    const { ok, output } = checkConfig(`${root}${CONFIG}`);
    assert.ok(ok, output);
  });

  it('runs Prometheus with that config, on loopback, only under the monitoring profile', async () => {
    const prometheus = (await composeServices()).prometheus!;
    assert.deepEqual(prometheus.profiles, ['monitoring']);
    // docker-compose prints short forms (host:container[:mode]) or long ones, by version.
    const mounts = prometheus.volumes?.map((v) => (typeof v === 'string' ? v.split(':').slice(0, 2) : [v.source, v.target]));
    assert.ok(
      mounts?.some(([source, target]) => source === `${root}${CONFIG}` && target === '/etc/prometheus/prometheus.yml'),
      JSON.stringify(mounts),
    );
    const ports = prometheus.ports?.map((p) => (typeof p === 'string' ? p.replace(/\/tcp$/, '') : `${p.host_ip}:${p.published}:${p.target}`));
    assert.deepEqual(ports, ['127.0.0.1:9090:9090']);
  });

  it("scrapes each gateway's /metrics at its port, and the mesh-wide figures from one target", async () => {
    const services = await composeServices();
    const { scrape_configs: jobs } = parse(readFileSync(`${root}${CONFIG}`, 'utf8')) as { scrape_configs: ScrapeConfig[] };
    const targets = (job: string) => jobs.find((j) => j.job_name === job)!.static_configs.flatMap((c) => c.targets);
    assert.deepEqual(targets('gateway-http'), [`gateway-http:${services['gateway-http']!.environment!.HTTP_PORT}`]);
    assert.deepEqual(targets('gateway-wamp'), [`gateway-wamp:${services['gateway-wamp']!.environment!.WAMP_PORT}`]);
    assert.equal(jobs.find((j) => j.job_name === 'mesh')!.metrics_path, '/metrics/mesh');
    assert.equal(targets('mesh').length, 1, 'one target for the mesh-wide series, or they are counted twice');
    assert.equal(jobs.filter((j) => j.metrics_path === '/metrics/mesh').length, 1);
  });

  it('health-checks gateways with /health/ready and services with mesh ping of their own service name', async () => {
    const services = await composeServices();
    for (const gateway of ['gateway-http', 'gateway-wamp']) assert.match(services[gateway]!.healthcheck!.test.join(' '), /\/health\/ready'/);
    for (const [container, service] of Object.entries(services)) {
      const [verb, folder] = service.command ?? [];
      if (verb !== 'run') continue;
      assert.deepEqual(service.healthcheck?.test, ['CMD', 'node', 'dist/mesh/cli.js', 'ping', await serviceNameOf(folder!)], container);
    }
  });
});
