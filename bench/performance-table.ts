// Makes the performance table of docs/performance.md from bench/results/latest.json and writes it between the marker
// comments there, so the table is never copied by hand. The bench runs it at its end; `npm run bench:table` runs it
// alone, and `npm run bench:table -- --check` only says (exit 1) whether the page holds the table latest.json makes.
// It reads results only: it measures nothing and judges nothing that report.ts has not.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt, goalText, targetMet, valueText, type Row, type Target } from './report.ts';

export const TABLE_START = '<!-- bench-table: made by bench/performance-table.ts from bench/results/latest.json; do not edit -->';
export const TABLE_END = '<!-- /bench-table -->';

interface Results {
  meta: Record<string, string>;
  environment: Record<string, string>;
  rows: Row[];
  targets: Target[];
}

const PAGE = new URL('../docs/performance.md', import.meta.url);
const LATEST = new URL('./results/latest.json', import.meta.url);
/** A full run of bench/tasks.ts (`npm run bench:tasks`): its table goes between these markers. */
const TASKS = new URL('./results/tasks.json', import.meta.url);
export const TASKS_TABLE_START = '<!-- tasks-table: made by bench/performance-table.ts from bench/results/tasks.json; do not edit -->';
export const TASKS_TABLE_END = '<!-- /tasks-table -->';

interface TaskResults {
  meta: { rounds: number; serial: number; bulk: number; bulkSize: number; latencyTasks: number; durability: string; at: string };
  /** The median of the rounds, by scenario. */
  results: Record<string, number>;
  /** The lowest and highest of the rounds, by scenario. */
  spread: Record<string, [number, number]>;
  failures: string[];
}

/** The tasks table: each scenario for the mesh, raw JetStream (the floor) and BullMQ, from one run of bench/tasks.ts. */
export function tasksTable({ meta, results, spread, failures }: TaskResults): string {
  const one = (name: string, figure: number) => (name.includes(' ms') ? `${figure.toFixed(1)} ms` : perSecond(figure));
  const value = (name: string) => {
    const [low, high] = spread[name] ?? [];
    if (!name) return '';
    if (results[name] === undefined) return 'n/a';
    return low === undefined || high === undefined ? one(name, results[name]!) : `${one(name, results[name]!)} (${one(name, low)} to ${one(name, high)})`;
  };
  const bulk = `enqueue bulk ${meta.bulkSize}`;
  const ratio = (measured: string, against: string) => {
    const [a, b] = [results[measured], results[against]];
    return a === undefined || b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`;
  };
  const rows: [string, string, string, string][] = [
    [`add one at a time (${meta.serial})`, 'enqueue serial: mesh', 'enqueue serial: raw JetStream', 'enqueue serial: BullMQ'],
    [`add in bulks of ${meta.bulkSize} (${meta.bulk})`, `${bulk}: mesh`, `${bulk}: raw JetStream`, `${bulk}: BullMQ addBulk`],
    [`worker, concurrency 100 (${meta.serial + meta.bulk} tiny tasks)`, 'worker c=100: mesh', 'worker c=100: raw JetStream', 'worker c=100: BullMQ'],
    [
      "the same, the mesh's task with `ignoreResult` (no record of a success; BullMQ's jobs are `removeOnComplete`)",
      'worker c=100: mesh, result ignored',
      'worker c=100: raw JetStream',
      'worker c=100: BullMQ',
    ],
    ['the same, each result kept in a KV bucket before the ack: `kv.put`, as people write it', 'worker c=100: mesh', 'worker c=100: raw JetStream, results kept', ''],
    ['the same, each result kept: lean, every PubAck on one inbox', 'worker c=100: mesh', 'worker c=100: raw JetStream, results kept lean', ''],
  ];
  // CPU per task in a drain: the worker's process, then its server's (medians of the rounds).
  const cpu = (drain: string) => {
    const worker = results[`${drain}: worker CPU µs per task`];
    const server = results[`${drain}: server CPU µs per task`];
    return worker === undefined || server === undefined ? 'n/a' : `${worker.toFixed(1)} + ${server.toFixed(1)} µs`;
  };
  return [
    `A run of \`npm run bench:tasks\` on ${meta.at.slice(0, 10)}: medians of ${meta.rounds} rounds in rotated order, with the lowest and highest round; durability: ${meta.durability}.${failures.length ? ` It failed ${failures.length} checks.` : ''}`,
    '',
    '| scenario | nats-mesh | raw JetStream | BullMQ |',
    '|---|---|---|---|',
    ...rows.map(([scenario, ...names]) => `| ${scenario} | ${names.map(value).join(' | ')} |`),
    `| CPU per task in the worker's process + its server (nats-server, redis-server), in the drains above | ${cpu('worker c=100: mesh')}; result ignored: ${cpu('worker c=100: mesh, result ignored')} | ${cpu('worker c=100: raw JetStream')}; results kept: ${cpu('worker c=100: raw JetStream, results kept')}, lean ${cpu('worker c=100: raw JetStream, results kept lean')} | ${cpu('worker c=100: BullMQ')} |`,
    `| enqueue to start at 1,000/s (${meta.latencyTasks} tasks) | p50 ${value('enqueue-to-start p50 ms: mesh')}, p99 ${value('enqueue-to-start p99 ms: mesh')} | | |`,
    '',
    `Against the goals, in this run: enqueue one at a time ${ratio('enqueue serial: mesh', 'enqueue serial: raw JetStream')} of raw JetStream (goal 0.9x) and ${ratio('enqueue serial: mesh', 'enqueue serial: BullMQ')} of BullMQ (goal 1x), in bulks ${ratio(`${bulk}: mesh`, `${bulk}: raw JetStream`)} and ${ratio(`${bulk}: mesh`, `${bulk}: BullMQ addBulk`)}; the worker of a task with \`ignoreResult\` ${ratio('worker c=100: mesh, result ignored', 'worker c=100: raw JetStream')} of the raw worker (goal 0.8x) and ${ratio('worker c=100: mesh, result ignored', 'worker c=100: BullMQ')} of BullMQ (goal 2x); with each result kept, ${ratio('worker c=100: mesh', 'worker c=100: raw JetStream')} of the raw worker, ${ratio('worker c=100: mesh', 'worker c=100: raw JetStream, results kept lean')} of the lean raw worker that keeps each result, and ${ratio('worker c=100: mesh', 'worker c=100: BullMQ')} of BullMQ.`,
  ].join('\n');
}

/** The page with the text between two markers replaced (the page as it was when it lacks them). */
function between(page: string, startMarker: string, endMarker: string, text: string): string {
  const start = page.indexOf(startMarker);
  const end = page.indexOf(endMarker);
  if (start < 0 || end < start) return page;
  return `${page.slice(0, start + startMarker.length)}\n${text}\n${page.slice(end)}`;
}

/** A rate as the page writes it: 12,345/s. */
const perSecond = (rate: number) => (Number.isFinite(rate) ? `${Math.round(rate).toLocaleString('en')}/s` : 'n/a');

/** What the measured side and the baseline of a target did, from the rows it compares. */
function figures(results: Results, t: Target): [string, string] {
  const find = (variant: string | undefined) => results.rows.find((r) => r.scenario === t.scenario && r.level === t.level && r.variant === variant);
  const measured = find(t.variant);
  if (t.unit === 'ms' && measured) return [`p50 ${fmt(measured.measurement.p50Ms, 1)} ms, p99 ${fmt(measured.measurement.p99Ms, 1)} ms`, ''];
  const against = find(t.against);
  return [measured ? perSecond(measured.measurement.rate) : '', against ? `${against.variant} ${perSecond(against.measurement.rate)}` : ''];
}

export function performanceTable(results: Results): string {
  const { meta, environment: env } = results;
  const lines = [
    `A ${meta.mode} run (${meta.rounds} rounds of ${meta.roundMs} ms, medians) on ${(meta.date ?? '').slice(0, 10)}: ${env.cpu}, Node ${env.node}, ` +
      `@nats-io/transport-node ${env['@nats-io/transport-node'] ?? 'n/a'}, ${env['nats-server']}. Every row of the run is in \`bench/results/latest.md\`.`,
    '',
    '| target | nats-mesh | baseline | measured | goal | met |',
    '|---|---|---|---|---|---|',
  ];
  for (const t of results.targets) {
    if (!Number.isFinite(t.value)) continue;
    const [measured, baseline] = figures(results, t);
    lines.push(`| ${t.description} | ${measured} | ${baseline} | ${valueText(t)} | ${goalText(t)} | ${targetMet(t) ? 'yes' : 'no'} |`);
  }
  return lines.join('\n');
}

/** Writes the table into docs/performance.md between the markers (unless `check`); false when it was already there as made. */
export function updatePerformancePage(check = false): boolean {
  const page = readFileSync(PAGE, 'utf8');
  const start = page.indexOf(TABLE_START);
  const end = page.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/performance.md has no ${TABLE_START} ... ${TABLE_END} markers`);
  const table = performanceTable(JSON.parse(readFileSync(LATEST, 'utf8')) as Results);
  let updated = `${page.slice(0, start + TABLE_START.length)}\n${table}\n${page.slice(end)}`;
  if (existsSync(TASKS)) updated = between(updated, TASKS_TABLE_START, TASKS_TABLE_END, tasksTable(JSON.parse(readFileSync(TASKS, 'utf8')) as TaskResults));
  if (updated === page) return false;
  if (!check) writeFileSync(PAGE, updated);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const differed = updatePerformancePage(check);
  if (!differed) process.stdout.write('docs/performance.md: the performance table matches bench/results/latest.json\n');
  else if (!check) process.stdout.write('docs/performance.md: performance table made from bench/results/latest.json\n');
  else {
    process.stdout.write('docs/performance.md: the performance table differs from what bench/results/latest.json makes; run `npm run bench:table`\n');
    process.exitCode = 1;
  }
}
