// The WAMP v2 vocabulary this router speaks: message type codes, error and close URIs, websocket close codes,
// and the roles it announces in WELCOME. Only names and numbers; parsing is parse.ts's, behaviour session.ts's.

export const MessageType = {
  HELLO: 1,
  WELCOME: 2,
  ABORT: 3,
  CHALLENGE: 4,
  AUTHENTICATE: 5,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  PUBLISHED: 17,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  UNSUBSCRIBE: 34,
  UNSUBSCRIBED: 35,
  EVENT: 36,
  CALL: 48,
  CANCEL: 49,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  UNREGISTER: 66,
  UNREGISTERED: 67,
  INVOCATION: 68,
  INTERRUPT: 69,
  YIELD: 70,
} as const;

/** Reasons and error URIs the router sends, as the WAMP spec names them. */
export const WampUri = {
  PROTOCOL_VIOLATION: 'wamp.error.protocol_violation',
  NO_SUCH_REALM: 'wamp.error.no_such_realm',
  GOODBYE_AND_OUT: 'wamp.close.goodbye_and_out',
  SYSTEM_SHUTDOWN: 'wamp.close.system_shutdown',
  INVALID_URI: 'wamp.error.invalid_uri',
  INVALID_ARGUMENT: 'wamp.error.invalid_argument',
  NO_SUCH_PROCEDURE: 'wamp.error.no_such_procedure',
  NO_SUCH_SUBSCRIPTION: 'wamp.error.no_such_subscription',
  NO_SUCH_REGISTRATION: 'wamp.error.no_such_registration',
  PROCEDURE_ALREADY_EXISTS: 'wamp.error.procedure_already_exists',
  CANCELED: 'wamp.error.canceled',
  TIMEOUT: 'wamp.error.timeout',
  OPTION_NOT_ALLOWED: 'wamp.error.option_not_allowed',
  NOT_AUTHORIZED: 'wamp.error.not_authorized',
  AUTHENTICATION_FAILED: 'wamp.error.authentication_failed',
  NO_AUTH_METHOD: 'wamp.error.no_auth_method',
  /** ABORT when the ticket cannot be checked now (a JWKS endpoint down, no keys cached): the router's own URI. */
  AUTHENTICATION_UNAVAILABLE: 'mesh.error.unavailable',
  /** ABORT when the client's address has failed authentication too often (auth.failuresPerAddress): the router's own URI. */
  AUTHENTICATION_LIMITED: 'mesh.error.resource_exhausted',
  /** A SUBSCRIBE past wamp.maxSubscriptionsPerSession: the router's own URI, the spec has none. */
  TOO_MANY_SUBSCRIPTIONS: 'mesh.error.too_many_subscriptions',
} as const;

/** Prefix of the URI for every other mesh error code: `mesh.error.deadline_exceeded`, `mesh.error.not_found`, ... */
export const MESH_ERROR_PREFIX = 'mesh.error.';

/** Websocket close codes (RFC 6455) the router closes with. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  /** A client that does not read what it is sent: its unsent data passed wamp.maxBufferedBytes. */
  SLOW_CONSUMER: 1008,
  /** A frame over wamp.maxMessageBytes (the ws library closes with it). */
  MESSAGE_TOO_BIG: 1009,
} as const;

/** Websocket subprotocols, in the router's order of preference when a client offers several. */
export const SUBPROTOCOLS = ['wamp.2.json', 'wamp.2.msgpack'] as const;
export type Subprotocol = (typeof SUBPROTOCOLS)[number];

/** Largest id in WAMP: ids are integers in [1, 2^53]. */
export const MAX_ID = 2 ** 53;

/** Most session ids (or authids, authroles) one PUBLISH may list in `exclude` or `eligible`: the lists travel in NATS headers. */
export const MAX_SESSION_LIST = 1024;

/** The roles and advanced features announced in WELCOME; each one listed is implemented. */
export const ROUTER_ROLES = {
  broker: {
    features: {
      pattern_based_subscription: true,
      publisher_exclusion: true,
      publisher_identification: true,
      session_meta_api: true,
      subscriber_blackwhite_listing: true,
      subscription_meta_api: true,
    },
  },
  dealer: {
    features: {
      call_canceling: true,
      call_timeout: true,
      caller_identification: true,
      pattern_based_registration: true,
      progressive_call_results: true,
      registration_meta_api: true,
      registration_revocation: true,
      session_meta_api: true,
      shared_registration: true,
      testament_meta_api: true,
    },
  },
} as const;
