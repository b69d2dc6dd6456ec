// The [args, kwargs] envelope that every request, reply and event carries, and its validation.
// A request may also be [args], [] or empty; a reply and an event are always the full pair.
import { MeshError } from './errors.ts';

export type Args = unknown[];
export type Kwargs = Record<string, unknown>;
export type Envelope = [Args, Kwargs];

export function isKwargs(value: unknown): value is Kwargs {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Normalises a decoded request payload to [args, kwargs], or throws INVALID_ARGUMENT saying what is wrong. */
export function parseEnvelope(payload: unknown): Envelope {
  if (payload === undefined) return [[], {}];
  if (!Array.isArray(payload)) {
    throw new MeshError('INVALID_ARGUMENT', 'payload must be an array [args, kwargs]');
  }
  if (payload.length > 2) {
    throw new MeshError('INVALID_ARGUMENT', `payload must be [args, kwargs], got an array of ${payload.length} items`);
  }
  const [args = [], kwargs = {}] = payload as [unknown?, unknown?];
  if (!Array.isArray(args)) throw new MeshError('INVALID_ARGUMENT', 'args (payload[0]) must be an array');
  if (!isKwargs(kwargs)) throw new MeshError('INVALID_ARGUMENT', 'kwargs (payload[1]) must be an object');
  return [args, kwargs];
}

const REPLY = Symbol.for('nats-mesh.reply');

/** What an @rpc method returns to answer with several values or with kwargs: `return reply([a, b], { c })`. */
export interface Reply {
  readonly [REPLY]: Envelope;
}

export function reply(args: Args = [], kwargs: Kwargs = {}): Reply {
  return { [REPLY]: [args, kwargs] };
}

/** The reply envelope for a method's return value: `v` becomes [[v], {}], nothing becomes [[], {}]. */
export function toReplyEnvelope(value: unknown): Envelope {
  if (value === undefined) return [[], {}];
  if (typeof value === 'object' && value !== null && REPLY in value) return (value as Reply)[REPLY];
  return [[value], {}];
}
