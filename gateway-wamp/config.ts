// The WAMP gateway's section of the configuration (`wamp.*`, WAMP_* variables): its address, path and realm, and
// the limits each session lives within. Read once at start; a wrong value stops the gateway before it listens.
import { configSection, DEFAULT_MAX_NAME_BYTES, setting, z } from '../mesh/gateway.ts';

const { port, positiveInt, byteSize, list } = setting;

export const wampSettings = configSection(
  'wamp',
  z.strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    port: port.default(8080),
    path: z.string().startsWith('/').default('/ws'),
    realm: z.string().min(1).default('realm1'),
    maxBufferedBytes: byteSize.default(4 * 1024 * 1024),
    maxRegistrationsPerSession: positiveInt.default(100),
    maxPendingCallsPerSession: positiveInt.default(1000),
    maxPendingInvocationsPerSession: positiveInt.default(1000),
    maxMessageBytes: byteSize.default(1024 * 1024),
    maxNameBytes: positiveInt.max(1024).default(DEFAULT_MAX_NAME_BYTES),
    maxSubscriptionsPerSession: positiveInt.default(1000),
    /** Origins besides the gateway's own whose pages may open a websocket; `*` trusts every one. */
    origins: list(z.string().min(1)).default([]),
  }),
  {
    WAMP_HOST: 'host',
    WAMP_PORT: 'port',
    WAMP_PATH: 'path',
    WAMP_REALM: 'realm',
    WAMP_MAX_BUFFERED_BYTES: 'maxBufferedBytes',
    WAMP_MAX_REGISTRATIONS: 'maxRegistrationsPerSession',
    WAMP_MAX_PENDING_CALLS: 'maxPendingCallsPerSession',
    WAMP_MAX_PENDING_INVOCATIONS: 'maxPendingInvocationsPerSession',
    WAMP_MAX_MESSAGE_BYTES: 'maxMessageBytes',
    WAMP_MAX_NAME_BYTES: 'maxNameBytes',
    WAMP_MAX_SUBSCRIPTIONS_PER_SESSION: 'maxSubscriptionsPerSession',
    WAMP_ORIGINS: 'origins',
  },
);

export type WampSettings = ReturnType<typeof wampSettings.of>;
