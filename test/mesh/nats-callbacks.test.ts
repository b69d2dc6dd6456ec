// Guarded NATS callbacks: what a subscription callback throws or rejects is logged under an error id and its request
// answered INTERNAL with that id, while the connection goes on reading. And no code of the mesh, its gateways or its
// services hands nats.js a callback any other way.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import ts from 'typescript';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jsonCodec, subscribe, type ErrorBody } from '../../mesh/gateway.ts';
import { ERROR_ID, NATS_URL, uniqueName } from '../helpers.ts';

describe('guarded NATS callbacks', () => {
  let nc: NatsConnection;
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });

  before(async () => {
    nc = await connect({ servers: NATS_URL });
  });

  after(async () => {
    await nc.drain();
  });

  for (const [kind, fail] of [
    [
      'throws',
      () => {
        throw new RangeError('Too deep objects in depth 101');
      },
    ],
    ['rejects', () => Promise.reject(new RangeError('Too deep objects in depth 101'))],
  ] as const) {
    it(`a callback that ${kind} answers its caller INTERNAL under an error id, and the next request is served`, async () => {
      const subject = `${uniqueName('guarded')}.work`;
      let calls = 0;
      const sub = subscribe(nc, subject, {}, { logger, about: { subject } }, (msg) => {
        if (calls++ === 0) return fail();
        msg.respond(jsonCodec.encode([['done'], {}]));
      });
      await nc.flush();
      const failed = await nc.request(subject, undefined, { timeout: 2000 });
      const { error } = jsonCodec.decode(failed.data) as ErrorBody;
      assert.deepEqual({ ...error, id: undefined }, { code: 'INTERNAL', message: 'internal error', status: 500, id: undefined });
      assert.match(error.id!, ERROR_ID);
      const logged = lines.filter((line) => line.error_id === error.id);
      assert.equal(logged.length, 1);
      assert.equal((logged[0]!.err as { message: string }).message, 'Too deep objects in depth 101');
      const served = await nc.request(subject, undefined, { timeout: 2000 });
      assert.deepEqual(jsonCodec.decode(served.data), [['done'], {}]);
      sub.unsubscribe();
    });
  }
});

/** The folders whose code runs in long-lived processes on NATS. */
const GUARDED_FOLDERS = ['mesh', 'gateway-http', 'gateway-wamp', 'services'];
const DOOR = join('mesh', 'process', 'nats-callbacks.ts');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => join(folder, name));
}

/**
 * Calls that hand nats.js a callback: `x.subscribe(subject, { callback })`, and `nc.status()` on a NatsConnection
 * (the type checker tells, so a task handle's own `status()` is not one).
 */
function callbackDoors(file: string, checker: ts.TypeChecker, source: ts.SourceFile): string[] {
  const found: string[] = [];
  const isConnection = (node: ts.Expression) => /\bNatsConnection\b/.test(checker.typeToString(checker.getTypeAtLocation(node)));
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      const options = node.arguments[1];
      const withCallback = options !== undefined && ts.isObjectLiteralExpression(options) && options.properties.some((p) => p.name?.getText(source) === 'callback');
      if ((method === 'subscribe' && withCallback) || (method === 'status' && node.arguments.length === 0 && isConnection(node.expression.expression))) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
        found.push(`${file}:${line + 1} ${node.expression.getText(source)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the one door for NATS callbacks', () => {
  it(`no module but ${DOOR} subscribes with a callback or iterates status`, () => {
    const root = join(import.meta.dirname, '..', '..');
    const files = GUARDED_FOLDERS.flatMap((folder) => sourceFiles(join(root, folder)));
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ESNext,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      allowImportingTsExtensions: true,
      noEmit: true,
      experimentalDecorators: true,
      skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    const doorsOf = (file: string) => callbackDoors(file, checker, program.getSourceFile(file)!);
    const outside = files
      .filter((file) => relative(root, file) !== DOOR)
      .flatMap(doorsOf)
      .map((place) => relative(root, place));
    assert.deepEqual(outside, []);
    assert.ok(doorsOf(join(root, DOOR)).length >= 2, 'the door itself is seen by the check');
  });
});
