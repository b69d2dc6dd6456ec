// Reading V8 CPU profiles (node --cpu-prof) for the per-call tools: the flags that write one, the window of the counted
// calls on the profile's clock, and its samples summed by module, per call, printed as a table. No calls of its own.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Node flags that write a process's CPU profile into `dir` on exit, sampling every 50 µs. */
export const PROFILED = (dir: string) => ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '50'];

/** The monotonic clock in µs, as V8's profile times its samples. */
export const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

interface Profile {
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** What a sampled function is counted under: the mesh's module, the package, Node's module, or V8's own kind. */
function moduleOf({ functionName, url }: { functionName: string; url: string }): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const mesh = /\/((?:mesh|bench|services|gateway-http|gateway-wamp)\/.+)$/.exec(url);
  if (mesh && !url.includes('node_modules')) return mesh[1]!;
  const packaged = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packaged) return packaged[1]!;
  return url.startsWith('node:') ? url : '(other)';
}

/** µs per call by module, from the samples inside `window` of the one profile written in `dir`. */
export function perModule(dir: string, [from, to]: [number, number], calls: number): Map<string, number> {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const totals = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) return;
    const name = moduleOf(frames.get(id)!);
    totals.set(name, (totals.get(name) ?? 0) + delta / calls);
  });
  return totals;
}

/** The profiles side by side as a Markdown table, modules by their largest share, those under 0.05 µs left out. */
export function moduleTable(profiles: Map<string, Map<string, number>>): string {
  const modules = [...new Set([...profiles.values()].flatMap((totals) => [...totals.keys()]))];
  const columns = [...profiles.keys()];
  const busy = (totals: Map<string, number>) => [...totals].filter(([name]) => name !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
  modules.sort((a, b) => Math.max(...columns.map((c) => profiles.get(c)!.get(b) ?? 0)) - Math.max(...columns.map((c) => profiles.get(c)!.get(a) ?? 0)));
  const lines = [`| module | ${columns.join(' | ')} |`, `|---|${columns.map(() => '---:').join('|')}|`];
  lines.push(`| busy (all but idle) | ${columns.map((c) => busy(profiles.get(c)!).toFixed(2)).join(' | ')} |`);
  for (const name of modules) {
    const row = columns.map((c) => profiles.get(c)!.get(name) ?? 0);
    if (Math.max(...row) >= 0.05) lines.push(`| ${name} | ${row.map((us) => us.toFixed(2)).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
