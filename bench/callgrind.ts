// Counting a process's instructions with callgrind (`valgrind --tool=callgrind`) over a window of its work: how a
// child is started under it with a steady V8 heap, how the window is marked, and the count read per call. No calls.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * V8 settings for the process measured: a fixed young generation, a large first old-generation limit, no memory
 * reducer and no helper threads, so how often the heap is collected follows what the calls allocate, not how fast
 * the machine runs them (V8 sizes its heap by allocation rate and GC speed in wall time: on a loaded machine, the
 * same calls counted up to 70% more).
 */
export const STEADY_HEAP = ['--single-threaded', '--no-memory-reducer', '--min-semi-space-size=16', '--max-semi-space-size=16', '--initial-old-space-size=512'];

/** Zeroes a process's counts (callgrind_control -z), runs `work`, then has it write them (-d). */
export async function counted(pid: number, work: () => Promise<void>): Promise<void> {
  spawnSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
  await work();
  spawnSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
}

/** How a child is started: under callgrind with a steady heap, writing its counts into `dir`, or as it is. */
export function launch(dir: string | undefined): { execPath?: string; execArgv: string[] } {
  const node = ['--import', 'tsx'];
  return dir
    ? { execPath: 'valgrind', execArgv: ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${dir}/cg.out`, process.execPath, ...STEADY_HEAP, ...node] }
    : { execArgv: node };
}

/** The instructions of the dump `callgrind_control -d` wrote (the first numbered one), per counted call. */
export function perCall(dir: string, calls: number): number {
  const dump = readdirSync(dir)
    .filter((file) => file.startsWith('cg.out.'))
    .sort()[0];
  const summary = dump && /^summary: (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'));
  if (!summary) throw new Error(`no callgrind dump in ${dir}`);
  return Number(summary[1]) / calls;
}
