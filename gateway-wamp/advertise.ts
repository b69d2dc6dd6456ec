// Makes the WAMP registrations of one gateway process procedures on the mesh: answers the NATS micro services
// discovery requests ($SRV.PING, $SRV.INFO, by name and by id) for a service named wamp_gateway, and announces
// each new registration on $SRV.STARTED as a service instance announces its start. It serves no calls.
import { nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { announceStarted, PATTERN_METADATA, subscribe, type Logger, type Namespace } from '../mesh/gateway.ts';
import type { Registration } from './registrations.ts';

/** The micro service name every WAMP gateway process answers to; each process has its own id. */
export const WAMP_SERVICE_NAME = 'wamp_gateway';

/** Response types of the micro services protocol (io.nats.micro.v1). */
const PING_RESPONSE = 'io.nats.micro.v1.ping_response';
const INFO_RESPONSE = 'io.nats.micro.v1.info_response';

export interface AdvertiseOptions {
  version: string;
  realm: string;
  /** The endpoints' subjects and queue group are under it, and the metadata names it. */
  namespace: Namespace;
  /** The registrations to list, read at each request. */
  registrations: () => Registration[];
  /** NATS's largest message: an INFO reply with more endpoints than fit lists as many as fit. */
  maxPayload: number;
  logger: Logger;
}

export interface Advertisement {
  /** This gateway process's instance id in $SRV replies. */
  readonly id: string;
  /**
   * Tells registries that this process answers the registration's URI (an INFO reply listing it alone); resolves
   * once the NATS server has it, so that a caller who hears of the registration after that finds it.
   */
  announce(registration: Registration): Promise<void>;
  stop(): void;
}

interface EndpointInfo {
  name: string;
  subject: string;
  queue_group: string;
  metadata: Record<string, string>;
}

const encoder = new TextEncoder();

/** Subscribes the discovery subjects; resolves once the NATS server has them. */
export async function advertise(nc: NatsConnection, options: AdvertiseOptions): Promise<Advertisement> {
  const id = nuid.next();
  const { namespace } = options;
  const identity = { name: WAMP_SERVICE_NAME, id, version: options.version, metadata: { realm: options.realm, ...namespace.metadata } };

  // A pattern registration is listed with the subject it listens on (the wider one of a one-part prefix), its own
  // queue group, and its match policy and pattern, by which registries keep it apart from procedures (registry.ts).
  const endpoint = ({ uri, match, policy, calleeCount, subjects, queue }: Registration): EndpointInfo => ({
    name: uri,
    subject: namespace.subject(subjects.at(-1)!),
    queue_group: queue,
    metadata: {
      parameters: '*args, **kwargs',
      invoke: policy,
      callees: String(calleeCount),
      ...(match !== 'exact' && { [PATTERN_METADATA.match]: match, [PATTERN_METADATA.pattern]: uri }),
    },
  });

  const description = 'procedures registered by WAMP sessions of one gateway-wamp process';
  /** The INFO reply; when it is too large for NATS, the endpoints are halved until it fits and metadata says so. */
  const info = (): Uint8Array => {
    let endpoints = options.registrations().map(endpoint);
    let truncated = false;
    for (;;) {
      const metadata = truncated ? { ...identity.metadata, truncated: 'true' } : identity.metadata;
      const body = encoder.encode(JSON.stringify({ type: INFO_RESPONSE, ...identity, metadata, description, endpoints }));
      if (body.length <= options.maxPayload || endpoints.length === 0) return body;
      endpoints = endpoints.slice(0, Math.floor(endpoints.length / 2));
      truncated = true;
    }
  };
  const ping = (): Uint8Array => encoder.encode(JSON.stringify({ type: PING_RESPONSE, ...identity }));

  const answer = (msg: Msg, body: () => Uint8Array) => {
    if (!msg.reply) return;
    try {
      msg.respond(body());
    } catch (err) {
      options.logger.warn({ err }, 'could not answer a $SRV request');
    }
  };

  const subscriptions: Subscription[] = [];
  for (const [verb, body] of [
    ['PING', ping],
    ['INFO', info],
  ] as const) {
    for (const subject of [`$SRV.${verb}`, `$SRV.${verb}.${WAMP_SERVICE_NAME}`, `$SRV.${verb}.${WAMP_SERVICE_NAME}.${id}`]) {
      subscriptions.push(subscribe(nc, subject, {}, { logger: options.logger, about: { discovery: subject } }, (msg) => answer(msg, body)));
    }
  }
  await nc.flush();
  return {
    id,
    async announce(registration) {
      announceStarted(nc, { type: INFO_RESPONSE, ...identity, description, endpoints: [endpoint(registration)] }, options.logger);
      await nc.flush().catch((err: unknown) => options.logger.debug({ err: (err as Error).message }, 'registration announced without confirmation'));
    },
    stop() {
      for (const subscription of subscriptions) subscription.unsubscribe();
    },
  };
}
