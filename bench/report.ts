// Writes the benchmark results: a Markdown table (bench/results/latest.md after a full run, partial.md after a
// quick or --only one) and JSON beside it, with the machine, Node and package versions, so a figure always says
// where it was measured. The table of docs/performance.md is made from latest.json by performance-table.ts, not here.
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

/** A goal and what was measured for it: a ratio of two rows' rates unless `unit` says otherwise. */
export interface Target {
  scenario: string;
  description: string;
  value: number;
  goal: number;
  /** `x` for a ratio (met at or above the goal); `ms` and `MiB` are met below it. */
  unit: 'x' | 'ms' | 'MiB';
  /** The rows a ratio compares, for the performance table: the level, the measured variant and its baseline. */
  level?: string;
  variant?: string;
  against?: string;
}

export const targetMet = (t: Pick<Target, 'value' | 'goal' | 'unit'>) => (t.unit === 'x' ? t.value >= t.goal : t.value < t.goal);
export const goalText = (t: Pick<Target, 'goal' | 'unit'>) => (t.unit === 'x' ? `≥ ${t.goal}x` : `< ${t.goal} ${t.unit}`);
export const valueText = (t: Pick<Target, 'value' | 'unit'>) => (t.unit === 'x' ? `${fmt(t.value, 2)}x` : `${fmt(t.value, t.unit === 'ms' ? 1 : 0)} ${t.unit}`);

/** A scenario that did not finish: its replies were wrong, or a worker failed. */
export interface Failure {
  scenario: string;
  error: string;
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

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export interface Memory {
  sessions: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  kibPerSession: number;
}

export function writeReport(rows: Row[], targets: Target[], memory: Memory | undefined, failures: Failure[], meta: Record<string, string>): string {
  const lines = [`# nats-mesh benchmarks`, '', `Measured ${meta.date} (${meta.mode}, ${meta.rounds} rounds of ${meta.roundMs} ms, medians).`, ''];
  lines.push(
    Object.entries(environment())
      .map(([k, v]) => `${k}: ${v}`)
      .join('; '),
    '',
  );
  if (failures.length > 0) {
    lines.push('## Failed', '', ...failures.map((f) => `- **${f.scenario}**: ${f.error}`), '');
  }
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
  if (memory)
    lines.push(
      '## WAMP gateway memory, idle sessions',
      '',
      `${memory.sessions} idle WAMP sessions (HELLO, one SUBSCRIBE each): RSS ${fmt(memory.rssBeforeMiB)} MiB -> ${fmt(memory.rssAfterMiB)} MiB after a full GC, ` +
        `${fmt(memory.kibPerSession, 1)} KiB per session${memory.sessions === 10_000 ? '' : `; about ${fmt(memory.rssBeforeMiB + (memory.kibPerSession * 10_000) / 1024)} MiB at 10,000`}.`,
      '',
    );
  lines.push('## Targets', '', '| scenario | measured | target | met |', '|---|---|---|---|');
  for (const t of targets.filter((t) => Number.isFinite(t.value))) lines.push(`| ${t.description} | ${valueText(t)} | ${goalText(t)} | ${targetMet(t) ? 'yes' : 'no'} |`);
  const markdown = `${lines.join('\n')}\n`;
  const dir = new URL('./results/', here);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL(`${meta.file}.md`, dir), markdown);
  writeFileSync(new URL(`${meta.file}.json`, dir), `${JSON.stringify({ meta, environment: environment(), rows, targets, memory, failures }, null, 2)}\n`);
  return markdown;
}
