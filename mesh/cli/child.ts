// Child processes of a supervising mesh command (`mesh up`, watch mode): how they are started, how they are
// stopped, and the signal the supervisor waits for. What to run, and when to restart, is the caller's.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** How long a child may drain after SIGTERM before it is killed. */
const STOP_GRACE_MS = 20_000;

/**
 * Starts a child in its own process group, so Ctrl-C reaches only the supervisor, which then drains each
 * child once; the IPC channel lets the child notice when the supervisor itself is gone.
 */
export function spawnChild(command: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const [executable, ...args] = command;
  return spawn(executable!, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env, detached: true });
}

/** SIGTERM (the child drains), then SIGKILL if it is still running after the grace period. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the first SIGINT or SIGTERM this process receives. */
export async function untilStopSignal(): Promise<NodeJS.Signals> {
  const [signal] = (await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')])) as [NodeJS.Signals];
  return signal;
}
