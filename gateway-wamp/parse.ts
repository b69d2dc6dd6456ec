// The one place a decoded WAMP frame is validated: it becomes a typed client message or a protocol violation
// saying what is wrong. It checks shape and field types only; what a message means is session.ts's business.
import type { Args, Kwargs } from '../mesh/index.ts';
import { isKwargs } from '../mesh/index.ts';
import { MAX_ID, MessageType } from './protocol.ts';

type Dict = Record<string, unknown>;

export interface Hello { type: typeof MessageType.HELLO; realm: string; details: Dict }
export interface Abort { type: typeof MessageType.ABORT; details: Dict; reason: string }
export interface Goodbye { type: typeof MessageType.GOODBYE; details: Dict; reason: string }
export interface ErrorMessage {
  type: typeof MessageType.ERROR;
  requestType: number;
  requestId: number;
  details: Dict;
  error: string;
  args: Args;
  kwargs: Kwargs;
}
export interface Publish { type: typeof MessageType.PUBLISH; requestId: number; options: Dict; topic: string; args: Args; kwargs: Kwargs }
export interface Subscribe { type: typeof MessageType.SUBSCRIBE; requestId: number; options: Dict; topic: string }
export interface Unsubscribe { type: typeof MessageType.UNSUBSCRIBE; requestId: number; subscriptionId: number }
export interface Call { type: typeof MessageType.CALL; requestId: number; options: Dict; procedure: string; args: Args; kwargs: Kwargs }
export interface Cancel { type: typeof MessageType.CANCEL; requestId: number; options: Dict }
export interface Register { type: typeof MessageType.REGISTER; requestId: number; options: Dict; procedure: string }
export interface Unregister { type: typeof MessageType.UNREGISTER; requestId: number; registrationId: number }
export interface Yield { type: typeof MessageType.YIELD; requestId: number; options: Dict; args: Args; kwargs: Kwargs }

/** Every message a client may send to a router. */
export type ClientMessage =
  | Hello | Abort | Goodbye | ErrorMessage | Publish | Subscribe | Unsubscribe
  | Call | Cancel | Register | Unregister | Yield;

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; reason: string };

/** Field kinds; a trailing `?` marks the optional payload fields Arguments|list and ArgumentsKw|dict. */
type Field = 'id' | 'int' | 'uri' | 'dict' | 'list?' | 'dict?';

const isId = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_ID;

const CHECKS: Record<Field, (value: unknown) => boolean> = {
  id: isId,
  int: (value) => Number.isInteger(value) && (value as number) >= 0,
  uri: (value) => typeof value === 'string' && value.length > 0,
  dict: isKwargs,
  'list?': Array.isArray,
  'dict?': isKwargs,
};

const DESCRIPTIONS: Record<Field, string> = {
  id: 'an id (integer in [1, 2^53])',
  int: 'a non-negative integer',
  uri: 'a non-empty string',
  dict: 'a dict',
  'list?': 'a list',
  'dict?': 'a dict',
};

/** The fields after the type code, for every message a client may send. */
const SHAPES: Record<ClientMessage['type'], { name: string; fields: Field[] }> = {
  [MessageType.HELLO]: { name: 'HELLO', fields: ['uri', 'dict'] },
  [MessageType.ABORT]: { name: 'ABORT', fields: ['dict', 'uri'] },
  [MessageType.GOODBYE]: { name: 'GOODBYE', fields: ['dict', 'uri'] },
  [MessageType.ERROR]: { name: 'ERROR', fields: ['int', 'id', 'dict', 'uri', 'list?', 'dict?'] },
  [MessageType.PUBLISH]: { name: 'PUBLISH', fields: ['id', 'dict', 'uri', 'list?', 'dict?'] },
  [MessageType.SUBSCRIBE]: { name: 'SUBSCRIBE', fields: ['id', 'dict', 'uri'] },
  [MessageType.UNSUBSCRIBE]: { name: 'UNSUBSCRIBE', fields: ['id', 'id'] },
  [MessageType.CALL]: { name: 'CALL', fields: ['id', 'dict', 'uri', 'list?', 'dict?'] },
  [MessageType.CANCEL]: { name: 'CANCEL', fields: ['id', 'dict'] },
  [MessageType.REGISTER]: { name: 'REGISTER', fields: ['id', 'dict', 'uri'] },
  [MessageType.UNREGISTER]: { name: 'UNREGISTER', fields: ['id', 'id'] },
  [MessageType.YIELD]: { name: 'YIELD', fields: ['id', 'dict', 'list?', 'dict?'] },
};

function isClientType(code: unknown): code is ClientMessage['type'] {
  return typeof code === 'number' && Object.hasOwn(SHAPES, code);
}

function checkFields(name: string, fields: Field[], values: unknown[]): string | undefined {
  const required = fields.filter((f) => !f.endsWith('?')).length;
  if (values.length < required || values.length > fields.length) {
    const expected = required === fields.length ? `${required}` : `${required} to ${fields.length}`;
    return `${name} must have ${expected} fields after the type, got ${values.length}`;
  }
  for (const [i, value] of values.entries()) {
    const field = fields[i]!;
    if (!CHECKS[field](value)) return `${name} field ${i + 1} must be ${DESCRIPTIONS[field]}`;
  }
  return undefined;
}

function build(type: ClientMessage['type'], v: unknown[]): ClientMessage {
  const args = (v: unknown) => (v ?? []) as Args;
  const kwargs = (v: unknown) => (v ?? {}) as Kwargs;
  switch (type) {
    case MessageType.HELLO: return { type, realm: v[0] as string, details: v[1] as Dict };
    case MessageType.ABORT: return { type, details: v[0] as Dict, reason: v[1] as string };
    case MessageType.GOODBYE: return { type, details: v[0] as Dict, reason: v[1] as string };
    case MessageType.ERROR:
      return { type, requestType: v[0] as number, requestId: v[1] as number, details: v[2] as Dict, error: v[3] as string, args: args(v[4]), kwargs: kwargs(v[5]) };
    case MessageType.PUBLISH:
      return { type, requestId: v[0] as number, options: v[1] as Dict, topic: v[2] as string, args: args(v[3]), kwargs: kwargs(v[4]) };
    case MessageType.SUBSCRIBE: return { type, requestId: v[0] as number, options: v[1] as Dict, topic: v[2] as string };
    case MessageType.UNSUBSCRIBE: return { type, requestId: v[0] as number, subscriptionId: v[1] as number };
    case MessageType.CALL:
      return { type, requestId: v[0] as number, options: v[1] as Dict, procedure: v[2] as string, args: args(v[3]), kwargs: kwargs(v[4]) };
    case MessageType.CANCEL: return { type, requestId: v[0] as number, options: v[1] as Dict };
    case MessageType.REGISTER: return { type, requestId: v[0] as number, options: v[1] as Dict, procedure: v[2] as string };
    case MessageType.UNREGISTER: return { type, requestId: v[0] as number, registrationId: v[1] as number };
    case MessageType.YIELD: return { type, requestId: v[0] as number, options: v[1] as Dict, args: args(v[2]), kwargs: kwargs(v[3]) };
  }
}

/** Validates a decoded frame: an array whose first item is a type a client may send, with fields of the right types. */
export function parseMessage(value: unknown): Parsed {
  if (!Array.isArray(value)) return { ok: false, reason: 'a message must be an array' };
  const [type, ...fields] = value as unknown[];
  if (!isClientType(type)) return { ok: false, reason: `${typeof type === 'number' ? type : typeof type} is not a message type a client may send` };
  const shape = SHAPES[type];
  const problem = checkFields(shape.name, shape.fields, fields);
  if (problem) return { ok: false, reason: problem };
  return { ok: true, message: build(type, fields) };
}
