// The one place a decoded WAMP frame is validated: it becomes a typed client message or a protocol violation
// saying what is wrong. It checks shape, field and option types only; what a message means is the session's,
// the broker's and the dealer's business.
import { type Args, type Kwargs, isKwargs } from '../mesh/gateway.ts';
import { MAX_ID, MAX_SESSION_LIST, MessageType } from './protocol.ts';
import { isMatchPolicy, type MatchPolicy } from './uri.ts';

type Dict = Record<string, unknown>;

export interface Hello {
  type: typeof MessageType.HELLO;
  realm: string;
  details: Dict;
}
export interface Abort {
  type: typeof MessageType.ABORT;
  details: Dict;
  reason: string;
}
/** AUTHENTICATE answers a CHALLENGE: for `ticket`, the signature is the ticket (a JWT or an API key). */
export interface Authenticate {
  type: typeof MessageType.AUTHENTICATE;
  signature: string;
  extra: Dict;
}
export interface Goodbye {
  type: typeof MessageType.GOODBYE;
  details: Dict;
  reason: string;
}
export interface ErrorMessage {
  type: typeof MessageType.ERROR;
  requestType: number;
  requestId: number;
  details: Dict;
  error: string;
  args: Args;
  kwargs: Kwargs;
}
/** PUBLISH options, typed: the ones the broker acts on. */
export interface PublishOptions {
  acknowledge: boolean;
  /** WAMP's exclude_me: true unless the client says false. */
  excludeMe: boolean;
  /** WAMP's disclose_me: the events name the publisher's session, authid and authrole. */
  discloseMe: boolean;
  /** Session ids that must not get the event. */
  exclude: number[] | undefined;
  /** Session ids that alone may get the event. */
  eligible: number[] | undefined;
  /** Authids that must not get the event. */
  excludeAuthid: string[] | undefined;
  /** Authroles whose sessions must not get the event. */
  excludeAuthrole: string[] | undefined;
  /** Authids that alone may get the event. */
  eligibleAuthid: string[] | undefined;
  /** Authroles whose sessions alone may get the event. */
  eligibleAuthrole: string[] | undefined;
  /** Payload passthru mode (enc_algo): the payload is opaque bytes, not [args, kwargs] (not supported). */
  passthru: boolean;
  /** W3C trace context of the publisher; a value that is not a string is ignored (a fresh trace, never an error). */
  traceparent: string | undefined;
  tracestate: string | undefined;
}
export interface Publish {
  type: typeof MessageType.PUBLISH;
  requestId: number;
  options: PublishOptions;
  topic: string;
  args: Args;
  kwargs: Kwargs;
}
export interface Subscribe {
  type: typeof MessageType.SUBSCRIBE;
  requestId: number;
  options: { match: MatchPolicy };
  topic: string;
}
export interface Unsubscribe {
  type: typeof MessageType.UNSUBSCRIBE;
  requestId: number;
  subscriptionId: number;
}
export interface Call {
  type: typeof MessageType.CALL;
  requestId: number;
  options: Dict;
  procedure: string;
  args: Args;
  kwargs: Kwargs;
}
export interface Cancel {
  type: typeof MessageType.CANCEL;
  requestId: number;
  options: Dict;
}
export interface Register {
  type: typeof MessageType.REGISTER;
  requestId: number;
  options: Dict;
  procedure: string;
}
export interface Unregister {
  type: typeof MessageType.UNREGISTER;
  requestId: number;
  registrationId: number;
}
export interface Yield {
  type: typeof MessageType.YIELD;
  requestId: number;
  options: Dict;
  args: Args;
  kwargs: Kwargs;
}

/** Every message a client may send to a router. */
export type ClientMessage = Hello | Abort | Authenticate | Goodbye | ErrorMessage | Publish | Subscribe | Unsubscribe | Call | Cancel | Register | Unregister | Yield;

export type Parsed = { ok: true; message: ClientMessage } | { ok: false; reason: string };

/**
 * Field kinds; a trailing `?` marks the optional payload fields Arguments|list and ArgumentsKw|dict, and
 * `payload?` the opaque payload of payload passthru mode (a string in JSON, bytes in MessagePack).
 */
type Field = 'id' | 'int' | 'uri' | 'string' | 'dict' | 'list?' | 'dict?' | 'payload?';

const isId = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_ID;

const CHECKS: Record<Field, (value: unknown) => boolean> = {
  id: isId,
  int: (value) => Number.isInteger(value) && (value as number) >= 0,
  uri: (value) => typeof value === 'string' && value.length > 0,
  string: (value) => typeof value === 'string',
  dict: isKwargs,
  'list?': Array.isArray,
  'dict?': isKwargs,
  'payload?': (value) => typeof value === 'string' || value instanceof Uint8Array,
};

const DESCRIPTIONS: Record<Field, string> = {
  id: 'an id (integer in [1, 2^53])',
  int: 'a non-negative integer',
  uri: 'a non-empty string',
  string: 'a string',
  dict: 'a dict',
  'list?': 'a list',
  'dict?': 'a dict',
  'payload?': 'a string or binary payload',
};

/** The fields after the type code, for every message a client may send. */
const SHAPES: Record<ClientMessage['type'], { name: string; fields: Field[] }> = {
  [MessageType.HELLO]: { name: 'HELLO', fields: ['uri', 'dict'] },
  [MessageType.ABORT]: { name: 'ABORT', fields: ['dict', 'uri'] },
  [MessageType.AUTHENTICATE]: { name: 'AUTHENTICATE', fields: ['string', 'dict'] },
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

/** A PUBLISH in payload passthru mode (its options name an enc_algo): the payload replaces args and kwargs. */
const PASSTHRU_PUBLISH: Field[] = ['id', 'dict', 'uri', 'payload?'];

/** What an option's value must be; a wrong type is a protocol violation, a wrong value (a known type) is not. */
type OptionKind = 'bool' | 'string' | 'count' | 'ids' | 'strings' | 'dicts' | 'match' | 'enc_algo';

/** A lone surrogate (`"\ud800"` in JSON) is no Unicode text: no authid or authrole can hold one, nor be matched by it. */
const LONE_SURROGATE = /\p{Cs}/u;
const isUnicodeText = (value: unknown) => typeof value === 'string' && !LONE_SURROGATE.test(value);

const OPTION_CHECKS: Record<OptionKind, (value: unknown) => boolean> = {
  bool: (value) => typeof value === 'boolean',
  string: (value) => typeof value === 'string',
  count: (value) => Number.isSafeInteger(value) && (value as number) >= 0,
  ids: (value) => Array.isArray(value) && value.length <= MAX_SESSION_LIST && value.every(isId),
  strings: (value) => Array.isArray(value) && value.length <= MAX_SESSION_LIST && value.every(isUnicodeText),
  dicts: (value) => Array.isArray(value) && value.every(isKwargs),
  match: isMatchPolicy,
  // The spec's algorithms, and custom ones under `x_`.
  enc_algo: (value) => typeof value === 'string' && (['cryptobox', 'mqtt', 'xbr'].includes(value) || value.startsWith('x_')),
};

const OPTION_DESCRIPTIONS: Record<OptionKind, string> = {
  bool: 'a boolean',
  string: 'a string',
  count: 'a non-negative integer',
  ids: `a list of at most ${MAX_SESSION_LIST} session ids`,
  strings: `a list of at most ${MAX_SESSION_LIST} strings of valid Unicode`,
  dicts: 'a list of dicts',
  match: '"exact", "prefix" or "wildcard"',
  enc_algo: '"cryptobox", "mqtt", "xbr" or a custom "x_..." algorithm',
};

const ROUTED = { forward_for: 'dicts' } as const;
const PASSTHRU = { enc_algo: 'enc_algo', enc_serializer: 'string', enc_key: 'string' } as const;

/**
 * The options of each request whose types the spec fixes. Unknown options are ignored, as the spec asks;
 * whether a well-typed value is supported (a REGISTER `match`, a CANCEL `mode`) is for the broker or dealer.
 */
const OPTIONS: Partial<Record<ClientMessage['type'], Record<string, OptionKind>>> = {
  [MessageType.PUBLISH]: {
    acknowledge: 'bool',
    exclude_me: 'bool',
    exclude: 'ids',
    exclude_authid: 'strings',
    exclude_authrole: 'strings',
    eligible: 'ids',
    eligible_authid: 'strings',
    eligible_authrole: 'strings',
    retain: 'bool',
    disclose_me: 'bool',
    transaction_hash: 'string',
    ...ROUTED,
    ...PASSTHRU,
  },
  [MessageType.SUBSCRIBE]: { match: 'match', get_retained: 'bool', ...ROUTED },
  [MessageType.HELLO]: { authmethods: 'strings', authid: 'string' },
  [MessageType.CALL]: { timeout: 'count', receive_progress: 'bool', disclose_me: 'bool', ...ROUTED, ...PASSTHRU },
  [MessageType.CANCEL]: { mode: 'string', ...ROUTED },
  [MessageType.REGISTER]: { match: 'string', invoke: 'string', disclose_caller: 'bool', concurrency: 'count', ...ROUTED },
  [MessageType.YIELD]: { progress: 'bool', ...ROUTED, ...PASSTHRU },
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

/** An option that is absent, null or undefined (msgpackr's unset value) is not given. */
const given = (value: unknown) => value !== undefined && value !== null;

function checkOptions(name: string, kinds: Record<string, OptionKind>, options: Dict): string | undefined {
  for (const [option, kind] of Object.entries(kinds)) {
    const value = options[option];
    if (given(value) && !OPTION_CHECKS[kind](value)) return `${name} option ${option} must be ${OPTION_DESCRIPTIONS[kind]}`;
  }
  return undefined;
}

function publishOptions(options: Dict): PublishOptions {
  const ids = (value: unknown) => (given(value) ? (value as number[]) : undefined);
  const strings = (value: unknown) => (given(value) ? (value as string[]) : undefined);
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    acknowledge: options.acknowledge === true,
    excludeMe: options.exclude_me !== false,
    discloseMe: options.disclose_me === true,
    exclude: ids(options.exclude),
    eligible: ids(options.eligible),
    excludeAuthid: strings(options.exclude_authid),
    excludeAuthrole: strings(options.exclude_authrole),
    eligibleAuthid: strings(options.eligible_authid),
    eligibleAuthrole: strings(options.eligible_authrole),
    passthru: given(options.enc_algo),
    traceparent: text(options.traceparent),
    tracestate: text(options.tracestate),
  };
}

function build(type: ClientMessage['type'], v: unknown[]): ClientMessage {
  const args = (v: unknown) => (Array.isArray(v) ? v : []) as Args;
  const kwargs = (v: unknown) => (v ?? {}) as Kwargs;
  switch (type) {
    case MessageType.HELLO:
      return { type, realm: v[0] as string, details: v[1] as Dict };
    case MessageType.ABORT:
      return { type, details: v[0] as Dict, reason: v[1] as string };
    case MessageType.AUTHENTICATE:
      return { type, signature: v[0] as string, extra: v[1] as Dict };
    case MessageType.GOODBYE:
      return { type, details: v[0] as Dict, reason: v[1] as string };
    case MessageType.ERROR:
      return { type, requestType: v[0] as number, requestId: v[1] as number, details: v[2] as Dict, error: v[3] as string, args: args(v[4]), kwargs: kwargs(v[5]) };
    case MessageType.PUBLISH:
      return { type, requestId: v[0] as number, options: publishOptions(v[1] as Dict), topic: v[2] as string, args: args(v[3]), kwargs: kwargs(v[4]) };
    case MessageType.SUBSCRIBE: {
      const match = (v[1] as Dict).match;
      return { type, requestId: v[0] as number, options: { match: given(match) ? (match as MatchPolicy) : 'exact' }, topic: v[2] as string };
    }
    case MessageType.UNSUBSCRIBE:
      return { type, requestId: v[0] as number, subscriptionId: v[1] as number };
    case MessageType.CALL:
      return { type, requestId: v[0] as number, options: v[1] as Dict, procedure: v[2] as string, args: args(v[3]), kwargs: kwargs(v[4]) };
    case MessageType.CANCEL:
      return { type, requestId: v[0] as number, options: v[1] as Dict };
    case MessageType.REGISTER:
      return { type, requestId: v[0] as number, options: v[1] as Dict, procedure: v[2] as string };
    case MessageType.UNREGISTER:
      return { type, requestId: v[0] as number, registrationId: v[1] as number };
    case MessageType.YIELD:
      return { type, requestId: v[0] as number, options: v[1] as Dict, args: args(v[2]), kwargs: kwargs(v[3]) };
  }
}

/** PUBLISH options given elsewhere (a testament's publish_options), typed, or why they are not well-typed. */
export function parsePublishOptions(options: Dict): PublishOptions | string {
  return checkOptions('publish_options', OPTIONS[MessageType.PUBLISH]!, options) ?? publishOptions(options);
}

/** Validates a decoded frame: an array whose first item is a type a client may send, with fields of the right types. */
export function parseMessage(value: unknown): Parsed {
  if (!Array.isArray(value)) return { ok: false, reason: 'a message must be an array' };
  const [type, ...fields] = value as unknown[];
  if (!isClientType(type)) return { ok: false, reason: `${typeof type === 'number' ? type : typeof type} is not a message type a client may send` };
  const { name, fields: shape } = SHAPES[type];
  const passthru = type === MessageType.PUBLISH && isKwargs(fields[1]) && given(fields[1].enc_algo);
  const problem = checkFields(name, passthru ? PASSTHRU_PUBLISH : shape, fields);
  if (problem) return { ok: false, reason: problem };
  const kinds = OPTIONS[type];
  const optionProblem = kinds && checkOptions(name, kinds, fields[1] as Dict);
  if (optionProblem) return { ok: false, reason: optionProblem };
  return { ok: true, message: build(type, fields) };
}
