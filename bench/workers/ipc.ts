// The worker side of the benchmark IPC: announce readiness, answer measurement requests, exit on SIGTERM.
export function serve<Ready>(info: Ready, handle: (message: Record<string, unknown>) => Promise<unknown>, stop?: () => Promise<void>): void {
  process.on('message', (message: Record<string, unknown>) => {
    handle(message).then(
      (result) => process.send!({ type: 'result', result }),
      (err: unknown) => process.send!({ type: 'result', error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.once('SIGTERM', () => {
    void (stop?.() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  process.send!({ type: 'ready', info });
}

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** The database pool size of thing_service and of its pg floor, the same for both. */
export const BENCH_POOL_SIZE = 10;
