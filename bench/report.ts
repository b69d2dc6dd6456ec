// Writes the benchmark results: a Markdown table (bench/results/latest.md) and JSON beside it, with the
// machine, Node and package versions, so a figure always says where it was measured.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { Measurement } from './stats.ts';

export interface Row {
  scenario: string;
  level: string;
  variant: string;
  baseline: boolean;
  measurement: Measurement;
  ratio: number;
}

export interface Target {
  scenario: string;
  description: string;
  ratio: number;
  goal: number;
}

const here = new URL('.', import.meta.url);

/** A package's version, read from its folder (some packages do not export their package.json). */
function version(pkg: string): string {
  for (const base of ['./node_modules/', '../node_modules/']) {
    try {
      return (JSON.parse(readFileSync(new URL(`${base}${pkg}/package.json`, here), 'utf8')) as { version: string }).version;
    } catch {
      // not installed in this folder; try the next
    }
  }
  return 'n/a';
}

export function environment(): Record<string, string> {
  const natsServer = spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).stdout.trim() || 'n/a';
  return {
    cpu: `${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    'nats-server': natsServer,
    ...Object.fromEntries(['@nats-io/transport-node', 'koa', 'ws', 'typeorm', 'pg', 'moleculer', 'moleculer-web', 'autocannon'].map((p) => [p, version(p)])),
  };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export interface Memory {
  sessions: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  kibPerSession: number;
}

export function writeReport(rows: Row[], targets: Target[], memory: Memory | undefined, meta: Record<string, string>): string {
  const lines = [`# nats-mesh benchmarks`, '', `Measured ${meta.date} (${meta.mode}, ${meta.rounds} rounds of ${meta.roundMs} ms, medians).`, ''];
  lines.push(Object.entries(environment()).map(([k, v]) => `${k}: ${v}`).join('; '), '');
  let scenario = '';
  for (const row of rows) {
    if (row.scenario !== scenario) {
      scenario = row.scenario;
      lines.push(`## ${scenario}`, '', '| level | variant | per second | p50 ms | p99 ms | errors | vs baseline |', '|---|---|---|---|---|---|---|');
    }
    const m = row.measurement;
    lines.push(`| ${row.level} | ${row.variant}${row.baseline ? ' (baseline)' : ''} | ${fmt(m.rate)} | ${fmt(m.p50Ms, 2)} | ${fmt(m.p99Ms, 2)} | ${m.errors} | ${fmt(row.ratio, 2)}x |`);
    const next = rows[rows.indexOf(row) + 1];
    if (!next || next.scenario !== scenario) lines.push('');
  }
  const projectedMiB = memory ? memory.rssBeforeMiB + (memory.kibPerSession * 10_000) / 1024 : Number.NaN;
  if (memory) lines.push(
    '## WAMP gateway memory, idle sessions',
    '',
    `${memory.sessions} idle WAMP sessions (HELLO, one SUBSCRIBE each): RSS ${fmt(memory.rssBeforeMiB)} MiB -> ${fmt(memory.rssAfterMiB)} MiB after a full GC, ` +
      `${fmt(memory.kibPerSession, 1)} KiB per session${memory.sessions === 10_000 ? '' : `; about ${fmt(projectedMiB)} MiB at 10,000`}.`,
    '',
  );
  lines.push('## Targets', '', '| scenario | ratio | target | met |', '|---|---|---|---|');
  for (const t of targets.filter((t) => Number.isFinite(t.ratio))) {
    lines.push(`| ${t.description} | ${fmt(t.ratio, 2)}x | ≥ ${t.goal}x | ${t.ratio >= t.goal ? 'yes' : 'no'} |`);
  }
  const memoryMiB = memory?.sessions === 10_000 ? memory.rssAfterMiB : projectedMiB;
  if (memory) lines.push(`| WAMP gateway with 10,000 idle sessions | ${fmt(memoryMiB)} MiB | < 1024 MiB | ${memoryMiB < 1024 ? 'yes' : 'no'} |`);
  const markdown = `${lines.join('\n')}\n`;
  const dir = new URL('./results/', here);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('latest.md', dir), markdown);
  writeFileSync(new URL('latest.json', dir), `${JSON.stringify({ meta, environment: environment(), rows, targets, memory }, null, 2)}\n`);
  return markdown;
}
