// Prometheus's own checks, run by the tests: `promtool check metrics` on a scrape (stdin) and `promtool check
// config` on a config file. Debian's prometheus package puts promtool in /usr/bin.
import { spawnSync } from 'node:child_process';

export const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';

/** What promtool says about a scrape: empty when it is well formed and passes the lint. */
export function checkMetrics(text: string): string {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw run.error;
  return run.status === 0 ? '' : `${run.stdout}${run.stderr}`.trim() || `promtool exited ${run.status}`;
}

export function checkConfig(file: string): { ok: boolean; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'config', file], { encoding: 'utf8' });
  if (run.error) throw run.error;
  return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
}

/** The value of one sample in a scrape, by metric name and exact labels; undefined when absent. */
export function sampleValue(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const found: Record<string, string> = {};
    if (open === name.length) {
      for (const m of line.slice(open + 1, close).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[m[1]!] = m[2]!;
    }
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice((open === name.length ? close : name.length) + 1).trim());
  }
  return undefined;
}
