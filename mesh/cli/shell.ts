// `mesh shell`: a Node REPL with a client preloaded as `mesh` and `client` (`await mesh.greeting_service.hello('Bob')`)
// and completion of service and procedure names from the catalog. Input is a terminal, piped text, or --eval.
import { Readable } from 'node:stream';
import repl, { type REPLServer } from 'node:repl';
import type { ServiceDescription } from '../calling/catalog.ts';
import type { ProxiedClient } from '../calling/client.ts';

type Completion = [string[], string];
type Completer = (line: string, callback: (err: Error | null, result: Completion) => void) => void;

/** Completions for the `mesh.`/`client.` expression that ends the line, or undefined when the line ends otherwise. */
export function completeProcedure(line: string, services: ServiceDescription[]): Completion | undefined {
  const match = /\b(mesh|client)\.([A-Za-z0-9_$-]*)(?:\.([A-Za-z0-9_$-]*))?$/.exec(line);
  if (!match) return undefined;
  const [typed, root, service, method] = match as unknown as [string, string, string, string | undefined];
  if (method === undefined) {
    const names = [...services.map((s) => s.name), 'call', 'publish'].filter((n) => n.startsWith(service)).map((n) => `${root}.${n}`);
    return [names, typed];
  }
  const found = services.find((s) => s.name === service);
  const names = (found?.procedures ?? [])
    .map((p) => p.name)
    .filter((n) => n.startsWith(method))
    .map((n) => `${root}.${service}.${n}`);
  return [names, typed];
}

export interface ShellOptions {
  client: ProxiedClient;
  services: ServiceDescription[];
  /** Code to run instead of reading stdin. */
  evaluate?: string;
}

/** Runs the shell until its input ends (or `.exit`), every evaluation finished. */
export async function runShell({ client, services, evaluate }: ShellOptions): Promise<void> {
  const input = evaluate === undefined ? process.stdin : Readable.from([`${evaluate}\n`]);
  const terminal = evaluate === undefined && process.stdin.isTTY === true;
  if (terminal) process.stdout.write(`nats-mesh shell: ${services.length} service(s); try await mesh.<service>.<procedure>(...)\n`);
  const server: REPLServer = repl.start({ prompt: terminal ? 'mesh> ' : '', input, output: process.stdout, terminal, useGlobal: false, ignoreUndefined: !terminal });
  server.context.mesh = client;
  server.context.client = client;
  server.context.services = services;
  // The REPL's own completer stays in charge of everything that is not a procedure name.
  const fallback = (server as unknown as { completer: Completer }).completer;
  (server as unknown as { completer: Completer }).completer = (line, callback) => {
    const completion = completeProcedure(line, services);
    if (completion) callback(null, completion);
    else fallback.call(server, line, callback);
  };
  // Piped input ends before its last awaits settle: the shell closes only once every evaluation has answered.
  let pending = 0;
  let settled: () => void = () => {};
  const idle = () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => (settled = resolve)));
  const evaluateLine = server.eval;
  (server as { eval: typeof server.eval }).eval = (code, context, file, callback) => {
    pending++;
    evaluateLine.call(server, code, context, file, (err, result) => {
      callback(err, result);
      if (--pending === 0) settled();
    });
  };
  await new Promise<void>((resolve) => server.once('exit', resolve));
  await idle();
}
