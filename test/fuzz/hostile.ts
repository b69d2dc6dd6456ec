// fast-check generators of hostile input for the mesh, one per class: HTTP bodies, paths, methods, headers and raw
// bytes; WAMP messages with every field valid or wrong, messages before HELLO, raw frames. Inputs only, no judging.
import fc from 'fast-check';
import type { HttpInput, HttpRequest } from './http-probe.ts';
import { Nested, NumberLiteral, toJson, toMsgpack, type Hostile } from './wire.ts';

/** Characters that break subjects, headers, log lines and parsers. */
const SPECIALS = ['\r', '\n', '\r\n', '\0', ' ', '\t', '.', '..', '*', '>', '$', '%', '"', '\\', '/', '?', '#', ':', '\u2028', '\ud800', 'é', '😀', '\u0085', '\x7f'];

const specialChar = fc.constantFrom(...SPECIALS);
const anyText = fc.string({ unit: 'binary', maxLength: 6 });

/** Short strings mixing specials with any code point. */
export const hostileText: fc.Arbitrary<string> = fc.array(fc.oneof(specialChar, anyText, fc.constantFrom('a', 'greeting_service', 'hello')), { maxLength: 8 }).map((parts) => parts.join(''));

/** Names from 0 to 100k bytes, most short. */
export const longName: fc.Arbitrary<string> = fc
  .oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(255, 256, 257, 1024, 4096, 8193, 16_385, 65_536, 100_000))
  .chain((length) => fc.constantFrom('a', 'é', 'x.', '\n').map((unit) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length)));

const FIXED_NAMES = [
  '',
  '.',
  'a.',
  '.a',
  'a..b',
  'greeting_service',
  'greeting_service.',
  'greeting_service.hello\r\n',
  'greeting_service.hello\0',
  'greeting_service.hello\nX-Injected: 1',
  'greeting_service.nope',
  'greeting_service.hello.extra',
  'greeting_service.*',
  'greeting_service.>',
  '$SYS.REQ.SERVER.PING',
  '$SRV.INFO',
  '$SRV.PING.greeting_service',
  '_INBOX.abc',
  '$JS.API.INFO',
  'wamp.session.count',
  '*',
  '>',
  '*.*',
  'a b.c',
];

/** Names a client may try to reach: valid ones, fixed traps, hostile text, long names. Never greeting_service.hello_sleep. */
export const hostileName: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('greeting_service.hello', 'greeting_service.nope', 'fuzz_topic.x'), weight: 2 },
  { arbitrary: fc.constantFrom(...FIXED_NAMES), weight: 3 },
  { arbitrary: hostileText, weight: 3 },
  { arbitrary: hostileText.map((t) => `greeting_service.${t}`), weight: 2 },
  { arbitrary: longName, weight: 1 },
);

const hostileNumber: fc.Arbitrary<Hostile> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 0.5, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 2 ** 64, 1e308, -1e308, 5e-324),
  fc.constantFrom('1e400', '-1e400', '-0', '1.0', '18014398509481984', '1E2', '0.000001e-400').map((t) => new NumberLiteral(t)),
);

/** Values of every JSON type, keys with CR/LF/NUL, now and then 10k-deep nesting. */
export const hostileValue: fc.Arbitrary<Hostile> = fc.letrec<{ value: Hostile }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    hostileNumber,
    hostileText,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileText, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const deep: fc.Arbitrary<Hostile> = fc.constantFrom(100, 1000, 10_000, 20_000).map((depth) => new Nested(depth));

/** Any type where a given one is expected. */
const wrongType: fc.Arbitrary<Hostile> = fc.oneof(fc.constant(null), fc.boolean(), hostileNumber, hostileText, fc.constant([] as Hostile), fc.constant({} as Hostile), fc.constant(['x'] as Hostile));

const hostileKwargs: fc.Arbitrary<Hostile> = fc.oneof(
  fc.dictionary(fc.oneof(hostileText, fc.constantFrom('a\nb', 'last_name', 'first_name', '__proto__', 'constructor', '')), hostileValue, { maxKeys: 4 }),
  fc.constant({ 'a\nb': 1 }),
);

/** `[args, kwargs]` and its near misses. */
export const hostileEnvelope: fc.Arbitrary<Hostile> = fc.oneof(
  fc.tuple(fc.array(hostileValue, { maxLength: 4 }), hostileKwargs).map((e) => e as Hostile),
  fc.tuple(fc.array(hostileValue, { maxLength: 3 })).map((e) => e as Hostile),
  fc.tuple(fc.oneof(deep, wrongType), fc.oneof(hostileKwargs, wrongType)).map((e) => e as Hostile),
  hostileValue,
  deep,
);

const LINE_SPANNING_JSON = [
  '[\n["Bob"],\n{"a":\n',
  '{\n',
  '[["Bob"]\n,{}]\n]',
  '\n\n',
  'null\nnull',
  '[["Bob"], {"last_name": "Ross"}]\n[',
  '["\n"]',
  '[["Bob"],\r\n{"a\r\nb": 1}',
  '[1,\n2,,\n3]',
  '\u2028[[]]',
];

/** Body bytes: JSON of hostile values, MessagePack of them, invalid JSON over several lines, random bytes. */
export const hostileBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { arbitrary: hostileEnvelope.map(toJson), weight: 4 },
  { arbitrary: hostileEnvelope.map(toMsgpack), weight: 2 },
  { arbitrary: fc.constantFrom(...LINE_SPANNING_JSON), weight: 2 },
  { arbitrary: fc.array(fc.oneof(hostileText, fc.constantFrom('[', ']', '{', '}', ',', '"', '\n')), { maxLength: 20 }).map((p) => p.join('')), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 1 },
);

const CONTENT_TYPES = [
  'application/json',
  'application/msgpack',
  'application/x-msgpack',
  'application/vnd.msgpack',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/vnd.api+json',
  'image/png',
  'multipart/form-data; boundary=x',
  'application/json, text/plain',
  ';;;',
  '*/*',
  'application/',
  'APPLICATION/JSON',
  'text/html',
  'application/xml',
];
const contentTypeHeader: fc.Arbitrary<string[]> = fc.oneof(
  fc.constant<string[]>([]),
  fc.constantFrom(...CONTENT_TYPES).map((t) => [`Content-Type: ${t}`]),
  hostileText.map((t) => [`Content-Type: ${t}`]),
);

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'PROPFIND', 'MKCOL', 'PURGE', 'SEARCH', 'QUERY', 'LINK', 'M-SEARCH', 'FOO', 'post', 'P OST', ''];

const procedurePath = fc.constantFrom('/greeting_service.hello', '/greeting_service.nope', '/health', '/', '/x', '/greeting_service.hello?x=1');

/** Every byte of the UTF-8 form outside [A-Za-z0-9._~-] as %XX; lone surrogates become U+FFFD, as a browser sends them. */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((b) => (/[A-Za-z0-9._~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** A request whose parts are valid unless the class says otherwise. */
function request(parts: Partial<HttpRequest>): HttpRequest {
  return { method: 'POST', path: '/greeting_service.hello', headers: ['Content-Type: application/json'], body: '[["Bob"], {"last_name": "Ross"}]', ...parts };
}

/** Task ids: real-looking ones (some may exist), sequences out of range, and hostile text. */
const taskIdText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('mailer.send_email.1', 'mailer.send_email.0', 'mailer.send_email.99999999999999999999', 'mailer.outbox.1', 'a.b.1', 'mailer.send_email.-1', 'mailer.send_email.1.2'),
  hostileName,
  hostileText.map((t) => `mailer.send_email.${t}`),
);

/** A valid mail now and then, so that enqueues are stored and run too (the fuzzed mesh's mailer delivers to a temp dir). */
const mailBody = fc.oneof({ arbitrary: fc.constant(JSON.stringify({ to: 'ada@example.com', subject: 'fuzz', body: 'hi' })), weight: 1 }, { arbitrary: hostileBody, weight: 4 });

const idempotencyKey = fc.oneof(
  fc.constant<string[]>([]),
  fc.constantFrom('k1', 'order-42').map((k) => [`Idempotency-Key: ${k}`]),
  hostileText.map((k) => [`Idempotency-Key: ${k}`]),
);

/** A query string of hostile keys and values, percent-encoded or raw, now and then a key the path gives or one given twice. */
const hostileQuery: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('last_name', 'first_name', '__proto__', 'constructor', '', 'a[]', 'a.b'), hostileText),
      fc.oneof(fc.constantFrom('Ross', '', '%', '%zz', '%E0%A4%A', '1e400', 'true', '[]'), hostileText),
      fc.boolean(),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([key, value, encoded]) => (encoded ? `${percentEncode(key)}=${percentEncode(value)}` : `${key}=${value}`)).join('&'));

export const HTTP_CLASSES: Record<string, fc.Arbitrary<HttpInput>> = {
  'hostile task enqueues: Prefer: respond-async and Idempotency-Key to mailer.send_email': fc
    .tuple(mailBody, idempotencyKey, fc.constantFrom('respond-async', 'respond-async, wait=1', 'wait=1', ' RESPOND-ASYNC ', 'respond-async;x'))
    .map(([body, key, prefer]) => request({ path: '/mailer.send_email', headers: ['Content-Type: application/json', `Prefer: ${prefer}`, ...key], body })),
  'hostile path parameters, query strings, methods and bodies on the GET route /hello/:first_name': fc
    .tuple(
      fc.oneof({ arbitrary: fc.constant('GET'), weight: 4 }, { arbitrary: fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'), weight: 1 }),
      fc.oneof(hostileText.map(percentEncode), fc.constantFrom('Bob', '', '%', '%E0%A4%A', '%00', 'a%2Fb', '..', 'Bob/extra', 'Bob/')),
      hostileQuery,
      fc.oneof({ arbitrary: fc.constant(''), weight: 4 }, { arbitrary: hostileBody, weight: 1 }),
    )
    .map(([method, name, query, body]) => request({ method, path: `/hello/${name}${query ? `?${query}` : ''}`, headers: body === '' ? [] : ['Content-Type: application/json'], body })),
  'hostile task ids in GET /tasks/<id>': taskIdText.map((id) => request({ method: 'GET', path: `/tasks/${percentEncode(id)}`, headers: [], body: '' })),
  'hostile task ids, methods, bodies and credentials on the task operations POST /tasks/<id>/retry and GET /tasks': fc
    .tuple(
      fc.oneof({ arbitrary: fc.constantFrom('POST', 'GET'), weight: 4 }, { arbitrary: fc.constantFrom('HEAD', 'PUT', 'DELETE', 'OPTIONS'), weight: 1 }),
      fc.oneof(
        taskIdText.map((id) => `/tasks/${percentEncode(id)}/retry`),
        fc.constantFrom('/tasks', '/tasks/', '/tasks?limit=1', '/tasks/mailer.send_email.1/retry/again', '/tasks//retry'),
      ),
      fc.oneof({ arbitrary: fc.constant(''), weight: 3 }, { arbitrary: hostileBody, weight: 1 }),
      fc.oneof(
        fc.constant<string[]>([]),
        hostileText.map((t) => [`Authorization: Bearer ${t}`]),
        hostileText.map((t) => [`X-Api-Token: ${t}`]),
        fc.constant(['Authorization: Basic Zm9vOmJhcg==']),
      ),
    )
    .map(([method, path, body, credentials]) => request({ method, path, headers: [...(body === '' ? [] : ['Content-Type: application/json']), ...credentials], body })),
  'hostile bodies and content types to greeting_service.hello': fc.tuple(contentTypeHeader, hostileBody).map(([headers, body]) => request({ headers, body })),
  'hostile procedure names in the path (percent-encoded)': fc.tuple(hostileName, hostileBody).map(([name, body]) => request({ path: `/${percentEncode(name)}`, body })),
  'raw CR/LF/NUL and other bytes in the path': fc.tuple(hostileName, fc.constantFrom('', '?a=\r\n', '#x', '?\0')).map(([name, tail]) => request({ path: `/${name}${tail}` })),
  'random HTTP methods and paths': fc
    .tuple(
      fc.oneof(fc.constantFrom(...METHODS), hostileText),
      fc.oneof(
        procedurePath,
        hostileText.map((t) => `/${percentEncode(t)}`),
      ),
      fc.oneof(fc.constant(''), hostileBody),
    )
    .map(([method, path, body]) => request({ method, path, body })),
  'hostile header lines': fc
    .array(
      fc.oneof(
        fc.constantFrom(
          'X-A: a\0b',
          'X-A: a\rb',
          'X-A: a\nb',
          'X\0: 1',
          ': empty',
          'X-A',
          'Content-Length: -1',
          'Content-Length: 1',
          'Transfer-Encoding: chunked',
          'Content-Encoding: gzip',
          'Content-Encoding: identity',
          'Expect: 100-continue',
          'Expect: nonsense',
          'Host: evil',
          ' folded: line',
          'Accept: application/msgpack',
          'Content-Type: application/json\r\n X: folded',
        ),
        fc.tuple(hostileText, hostileText).map(([n, v]) => `${n}: ${v}`),
        fc.integer({ min: 1000, max: 70_000 }).map((n) => `X-Long: ${'v'.repeat(n)}`),
      ),
      { minLength: 1, maxLength: 4 },
    )
    .map((extra) => request({ headers: ['Content-Type: application/json', ...extra] })),
  'raw socket garbage': fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 2000 }).map((raw) => ({ raw })),
    hostileText.map((t) => ({ raw: Buffer.from(`${t}\r\n\r\n`, 'utf8') })),
    fc
      .constantFrom(
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
        'GET /\r\n\r\n',
        'POST /greeting_service.hello HTTP/1.1\r\nContent-Length: 5\r\n\r\n',
        'POST /greeting_service.hello HTTP/9.9\r\nHost: x\r\n\r\n',
        '\r\n\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      )
      .map((t) => ({ raw: Buffer.from(t, 'latin1') })),
  ),
};

// ---- WAMP ----

export type WampProtocol = 'wamp.2.json' | 'wamp.2.msgpack';

export interface WampCase {
  protocol: WampProtocol;
  /** Whether the session says HELLO (and gets WELCOME) before the hostile frame. */
  hello: boolean;
  /** The message as a value, when the frame is one; undefined for raw bytes. */
  message?: Hostile;
  data: string | Uint8Array;
  binary: boolean;
}

const protocol = fc.constantFrom<WampProtocol>('wamp.2.json', 'wamp.2.msgpack');

const hostileId: fc.Arbitrary<Hostile> = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 2 ** 53 }), weight: 3 },
  { arbitrary: fc.constantFrom<Hostile>(0, -1, 1.5, 2 ** 53 + 2, 2 ** 64, 1e308, -1e308, '1', null, true, [], {}, new NumberLiteral('1e400'), new NumberLiteral('-0')), weight: 2 },
  { arbitrary: wrongType, weight: 1 },
);

function field<T extends Hostile>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<Hostile>): fc.Arbitrary<Hostile> {
  return fc.oneof({ arbitrary: valid, weight: 2 }, { arbitrary: hostile, weight: 1 });
}

/** The router's meta procedures and meta topics (gateway-wamp/wamp-meta.ts), called and subscribed with any arguments. */
const META_URIS = [
  'wamp.session.count',
  'wamp.session.list',
  'wamp.session.get',
  'wamp.session.add_testament',
  'wamp.session.flush_testaments',
  'wamp.registration.lookup',
  'wamp.registration.match',
  'wamp.registration.get',
  'wamp.registration.list_callees',
  'wamp.subscription.list',
  'wamp.subscription.match',
  'wamp.subscription.count_subscribers',
  'wamp.session.on_join',
  'wamp.registration.on_create',
];

/**
 * Valid URIs for calls and topics; registrations (patterns too: `fuzz_callee` as a prefix, `fuzz_callee..x` as a
 * wildcard) use their own names so that no fuzz session answers a real call.
 */
const callUri = field(fc.constantFrom('greeting_service.hello', 'greeting_service.nope', 'fuzz_probe.alive', 'fuzz_topic.x', ...META_URIS), fc.oneof(hostileName, wrongType));
const registerUri = field(
  fc.constantFrom('fuzz_callee.proc', 'fuzz_callee.other', 'fuzz_callee', 'fuzz_callee..x'),
  fc.oneof(
    hostileName.filter((n) => !n.startsWith('greeting_service') && !n.startsWith('fuzz_probe')),
    wrongType,
  ),
);
const realm = field(fc.constant('realm1'), fc.oneof(hostileName, wrongType));
const errorUri = field(fc.constantFrom('wamp.error.canceled', 'app.error.x', 'wamp.close.normal'), fc.oneof(hostileName, wrongType));

const OPTION_VALUES: Record<string, fc.Arbitrary<Hostile>> = {
  acknowledge: field(fc.boolean(), wrongType),
  exclude_me: field(fc.boolean(), wrongType),
  disclose_me: field(fc.boolean(), wrongType),
  receive_progress: field(fc.boolean(), wrongType),
  match: field(fc.constantFrom('exact', 'prefix', 'wildcard'), fc.oneof(hostileText, wrongType)),
  invoke: field(fc.constantFrom('single', 'roundrobin', 'random', 'first', 'last'), fc.oneof(hostileText, wrongType)),
  timeout: field(fc.integer({ min: 0, max: 5000 }), fc.oneof(hostileNumber, wrongType)),
  eligible: field(fc.array(fc.integer({ min: 1, max: 2 ** 53 }), { maxLength: 2 }), wrongType),
  exclude: field(fc.array(fc.integer({ min: 1, max: 2 ** 53 }), { maxLength: 2 }), wrongType),
};
const optionsDict: fc.Arbitrary<Hostile> = fc
  .tuple(fc.subarray(Object.keys(OPTION_VALUES), { maxLength: 3 }), fc.dictionary(hostileText, hostileValue, { maxKeys: 2 }))
  .chain(([keys, extra]) => fc.tuple(...keys.map((k) => OPTION_VALUES[k]!)).map((values) => ({ ...extra, ...Object.fromEntries(keys.map((k, i) => [k, values[i]!])) }) as Hostile));
const options = field(optionsDict, wrongType);
const args = field(fc.array(hostileValue, { maxLength: 3 }), fc.oneof(wrongType, deep));
const kwargs = field(hostileKwargs, wrongType);
const details = field(fc.constant({ roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} } } as Hostile), fc.oneof(optionsDict, wrongType));

/** The router's task procedures with hostile task names, envelopes, ids and enqueue options. */
const taskName = field(fc.constantFrom('mailer.send_email', 'mailer.outbox', 'greeting_service.hello', 'mailer.nope'), fc.oneof(hostileName, wrongType));
const enqueueOptions = field(
  fc.record(
    { key: field(fc.constantFrom('k1', 'order-42'), fc.oneof(hostileText, wrongType)), delay: field(fc.integer({ min: 0, max: 1000 }), fc.oneof(hostileNumber, wrongType)) },
    { requiredKeys: [] },
  ) as fc.Arbitrary<Hostile>,
  fc.oneof(hostileKwargs, wrongType),
);
const mail = fc.constant({ to: 'ada@example.com', subject: 'fuzz' } as Hostile);
const taskCall: fc.Arbitrary<Hostile> = fc
  .oneof(
    fc.tuple(hostileId, options, fc.constant('mesh.tasks.enqueue' as Hostile), field(fc.tuple(taskName, args, fc.oneof(mail, kwargs)) as fc.Arbitrary<Hostile>, args), enqueueOptions),
    fc.tuple(
      hostileId,
      options,
      fc.constantFrom<Hostile>('mesh.tasks.get', 'mesh.tasks.retry', 'mesh.tasks.queues'),
      field(fc.tuple(field(taskIdText, wrongType)) as fc.Arbitrary<Hostile>, args),
      kwargs,
    ),
  )
  .map((fields) => [48, ...fields] as Hostile);

/** Each message a client may send, by type code, field by field. */
const MESSAGES: Record<number, fc.Arbitrary<Hostile[]>> = {
  1: fc.tuple(realm, details),
  3: fc.tuple(options, errorUri),
  6: fc.tuple(options, errorUri),
  8: fc.tuple(field(fc.constantFrom(68, 48, 16), hostileId), hostileId, options, errorUri, args, kwargs),
  16: fc.tuple(hostileId, options, callUri, args, kwargs),
  32: fc.tuple(hostileId, options, callUri),
  34: fc.tuple(hostileId, hostileId),
  48: fc.tuple(hostileId, options, callUri, args, kwargs),
  49: fc.tuple(hostileId, options),
  64: fc.tuple(hostileId, options, registerUri),
  66: fc.tuple(hostileId, hostileId),
  70: fc.tuple(hostileId, options, args, kwargs),
};

/** A message of a known or unknown type, with fields dropped or added now and then. */
const wampMessage: fc.Arbitrary<Hostile> = fc
  .tuple(
    fc.oneof({ arbitrary: fc.constantFrom(...Object.keys(MESSAGES).map(Number)), weight: 6 }, { arbitrary: fc.oneof(fc.integer({ min: -5, max: 300 }), wrongType), weight: 1 }),
    fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.integer({ min: -3, max: 2 }), weight: 1 }),
  )
  .chain(([type, trim]) => {
    const fields = typeof type === 'number' && MESSAGES[type] ? MESSAGES[type] : fc.array(hostileValue, { maxLength: 5 });
    return fields.map((values) => {
      const all = [type as Hostile, ...values];
      return (trim < 0 ? all.slice(0, Math.max(0, all.length + trim)) : [...all, ...Array.from({ length: trim }, () => 'extra')]) as Hostile;
    });
  });

function encodeCase(protocolName: WampProtocol, hello: boolean, message: Hostile): WampCase {
  const binary = protocolName === 'wamp.2.msgpack';
  return { protocol: protocolName, hello, message, data: binary ? toMsgpack(message) : toJson(message), binary };
}

export const WAMP_CLASSES: Record<string, fc.Arbitrary<WampCase>> = {
  'messages with every field valid or of a wrong type, in a session': fc.tuple(protocol, wampMessage).map(([p, m]) => encodeCase(p, true, m)),
  'messages before HELLO': fc.tuple(protocol, wampMessage).map(([p, m]) => encodeCase(p, false, m)),
  'calls of the task procedures (mesh.tasks.*) with hostile tasks, arguments, ids and options': fc.tuple(protocol, taskCall).map(([p, m]) => encodeCase(p, true, m)),
  'raw frames: random bytes, text, JSON and deep nesting': fc
    .tuple(
      protocol,
      fc.boolean(),
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 300 }).map((data) => ({ data, binary: true })),
        fc.string({ unit: 'binary', maxLength: 200 }).map((data) => ({ data, binary: false })),
        fc.jsonValue().map((v) => ({ data: JSON.stringify(v) ?? 'null', binary: false })),
        hostileValue.map((v) => ({ data: toMsgpack(v), binary: true })),
        deep.map((v) => ({ data: toJson(v), binary: false })),
        deep.map((v) => ({ data: toMsgpack(v), binary: true })),
        fc.constant({ data: '[48, 1, {}, "greeting_service.hello", [], {"a\\nb": 1}]\n[48, 2, {}, "x.y"]', binary: false }),
      ),
    )
    .map(([p, hello, frame]) => ({ protocol: p, hello, ...frame })),
};

/** Inputs that once hurt the mesh or are named in the hardening issue, always sent. */
export const FIXED_HTTP: HttpInput[] = [
  request({ path: '/mailer.send_email', headers: ['Content-Type: application/json', 'Prefer: respond-async'], body: JSON.stringify({ to: 'ada@example.com', subject: 'x'.repeat(2 * 1024 * 1024) }) }),
  request({
    path: '/mailer.send_email',
    headers: ['Content-Type: application/json', 'Prefer: respond-async', `Idempotency-Key: ${'k'.repeat(129)}`],
    body: '{"to": "ada@example.com", "subject": "s"}',
  }),
  request({ method: 'GET', path: `/tasks/mailer.send_email.${'9'.repeat(100_000)}`, headers: [], body: '' }),
  request({ path: `/tasks/mailer.send_email.${'9'.repeat(100_000)}/retry`, headers: [], body: '' }),
  request({ path: '/tasks/mailer.send_email.1/retry', headers: ['Content-Type: application/json'], body: 'x'.repeat(2 * 1024 * 1024) }),
  request({ body: '[[], {"a\\nb": 1}]' }),
  request({ body: '[[], {"a\\r\\nNats-Service-Error: x": 1}]' }),
  request({ body: toJson([new Nested(10_000), {}]) }),
  request({ body: '[\n["Bob"],\n{"last_name":\n' }),
  request({ path: `/${'a'.repeat(100_000)}.hello` }),
  request({ path: `/greeting_service.${'b'.repeat(300)}` }),
  request({ path: '/greeting_service.hello%0D%0AX:%201' }),
  request({ path: '/greeting_service.hello%00' }),
  request({ path: '/%24SYS.REQ.SERVER.PING' }),
  request({ path: '/' }),
  request({ method: 'GET', path: '/hello/Bob?last_name=Ross', headers: [], body: '' }),
  request({ method: 'GET', path: '/hello/%E0%A4%A', headers: [], body: '' }),
  request({ method: 'GET', path: '/hello/Bob?first_name=Ann&__proto__=x&last_name=1&last_name=2', headers: [], body: '' }),
  request({ method: 'GET', path: '/hello/Bob', headers: ['Content-Type: application/json'], body: '{"last_name": "Ross"}' }),
  request({ method: 'GET', path: `/hello/${'b'.repeat(10_000)}?${'q=1&'.repeat(2000)}`, headers: [], body: '' }),
  request({ method: 'POST', path: '/hello/Bob', headers: ['Content-Type: application/json'], body: '{}' }),
  request({ method: 'GET', path: '/hello/Bob', headers: ['Sec-Fetch-Site: cross-site', 'Origin: https://evil.example'], body: '' }),
  request({ headers: ['Content-Type: application/msgpack'], body: new Uint8Array([0xc1, 0xff, 0x00]) }),
  request({ headers: ['Content-Type: image/png'] }),
  request({ method: 'CONNECT', path: '127.0.0.1:80' }),
  { raw: Buffer.from('\x00\x01\x02 hello\r\n\r\n', 'latin1') },
];

export const FIXED_WAMP: WampCase[] = [
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.session.get', ['not an id']]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.session.list', [{ authrole: 1 }]]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.registration.lookup', ['a.b', 'options']]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.subscription.match', []]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.session.add_testament', ['fuzz_topic.testament', 'args', 7]]),
  encodeCase('wamp.2.msgpack', true, [48, 1, {}, 'wamp.session.add_testament', ['fuzz_topic.testament', [new Nested(10_000)]]]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.session.add_testament', ['fuzz_topic.testament', [], {}], { publish_options: { exclude: [0] }, scope: 'destroyed' }]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.session.flush_testaments', [], { scope: 42 }]),
  encodeCase('wamp.2.json', true, [48, 1, { disclose_me: true }, 'greeting_service.hello', ['Bob']]),
  encodeCase('wamp.2.json', true, [16, 1, { disclose_me: true, acknowledge: true }, 'fuzz_topic.x', []]),
  encodeCase('wamp.2.json', true, [32, 1, { match: 'prefix' }, 'wamp.session']),
  encodeCase('wamp.2.json', true, [64, 1, { match: 'prefix' }, 'fuzz_callee..x']),
  encodeCase('wamp.2.json', true, [64, 1, { match: 'prefix' }, 'wamp.registration']),
  encodeCase('wamp.2.json', true, [64, 1, { match: 'wildcard' }, '..']),
  encodeCase('wamp.2.msgpack', true, [64, 1, { match: 'wildcard' }, '.fuzz_callee']),
  encodeCase('wamp.2.json', true, [64, 1, { match: 'wildcard' }, `fuzz_callee.${'w'.repeat(300)}.`]),
  encodeCase('wamp.2.json', true, [64, 1, { match: 'prefix' }, `fuzz_callee.${'p'.repeat(243)}`]),
  encodeCase('wamp.2.json', true, [64, 1, { match: 'regex' }, 'fuzz_callee.proc']),
  encodeCase('wamp.2.json', true, [64, 1, { match: 'prefix', invoke: 'everyone' }, 'fuzz_callee']),
  encodeCase('wamp.2.json', true, [64, 1, { match: 'wildcard' }, 'fuzz_callee.*']),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.registration.lookup', ['fuzz_callee', { match: 'regex' }]]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'wamp.registration.match', [['not', 'a', 'uri']]]),
  encodeCase('wamp.2.json', true, [70, 1, { progress: true }, ['unasked']]),
  encodeCase('wamp.2.json', true, [8, 68, 77, {}, 'wamp.error.canceled', []]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'mesh.tasks.enqueue', ['mailer.send_email', [], { to: 'ada@example.com', subject: 'later' }], { delay: 1e308 }]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'mesh.tasks.enqueue', ['mailer.send_email', [], { to: 'not an address' }], { key: 'k\r\nX: 1' }]),
  encodeCase('wamp.2.msgpack', true, [48, 1, {}, 'mesh.tasks.get', ['mailer.send_email.99999999999999999999'], {}]),
  encodeCase('wamp.2.json', true, [48, 1, {}, 'greeting_service.hello', [], { 'a\nb': 1 }]),
  encodeCase('wamp.2.msgpack', true, [48, 1, {}, 'greeting_service.hello', [], { 'a\nb': 1 }]),
  encodeCase('wamp.2.json', true, [32, 1, {}, 'a\r\nb.c']),
  encodeCase('wamp.2.json', true, [16, 1, { acknowledge: true }, 'a\0.b', []]),
  encodeCase('wamp.2.json', true, [48, 1, { timeout: -1 }, 'greeting_service.hello', ['Bob']]),
  encodeCase('wamp.2.json', true, [48, 1, { timeout: 'soon' }, 'greeting_service.hello', ['Bob']]),
  encodeCase('wamp.2.json', true, [32, 1, { match: 42 }, 'a.b']),
  encodeCase('wamp.2.json', true, [16, 1, { acknowledge: 'yes' }, 'a.b', []]),
  encodeCase('wamp.2.json', true, [48, new NumberLiteral('1e400'), {}, 'greeting_service.hello', ['Bob']]),
  encodeCase('wamp.2.json', true, [48, 2 ** 53, {}, 'greeting_service.hello', [new Nested(10_000)]]),
  encodeCase('wamp.2.msgpack', true, [48, 2 ** 53, {}, 'greeting_service.hello', [new Nested(10_000)]]),
  encodeCase('wamp.2.json', false, [1, 'realm1\n', { roles: {} }]),
  encodeCase('wamp.2.json', true, [48, 1, {}, `greeting_service.${'c'.repeat(100_000)}`, []]),
];
