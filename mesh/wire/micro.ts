// The NATS micro services protocol (io.nats.micro.v1) as nats-mesh reads it: the `$SRV` subjects, the replies'
// shapes, and one scatter-gather that asks every instance. Hosting a service is service/micro-service.ts's job.
import { errors, type NatsConnection } from '@nats-io/transport-node';

export type ServiceVerb = 'PING' | 'INFO' | 'STATS';

/** The `type` of each verb's reply. */
export const RESPONSE_TYPE = {
  PING: 'io.nats.micro.v1.ping_response',
  INFO: 'io.nats.micro.v1.info_response',
  STATS: 'io.nats.micro.v1.stats_response',
} as const satisfies Record<ServiceVerb, string>;

/** `$SRV.<verb>` asks every service, `$SRV.<verb>.<name>` every instance of one, `$SRV.<verb>.<name>.<id>` one instance. */
export function controlSubject(verb: ServiceVerb, name?: string, id?: string): string {
  return ['$SRV', verb, name, name && id].filter(Boolean).join('.');
}

/** What every reply carries: which instance of which service answers. */
export interface ServiceIdentity {
  type: string;
  name: string;
  id: string;
  version: string;
  metadata?: Record<string, string>;
}

export interface EndpointInfo {
  name: string;
  subject: string;
  queue_group: string;
  metadata?: Record<string, string>;
}

export interface ServiceInfo extends ServiceIdentity {
  description: string;
  endpoints: EndpointInfo[];
}

/** An endpoint's counts; times in nanoseconds, as the protocol has them. */
export interface EndpointStats {
  name: string;
  subject: string;
  queue_group: string;
  num_requests: number;
  num_errors: number;
  last_error?: string;
  processing_time: number;
  average_processing_time: number;
  data?: unknown;
}

export interface ServiceStats extends ServiceIdentity {
  started: string;
  endpoints: EndpointStats[];
}

interface Replies {
  PING: ServiceIdentity;
  INFO: ServiceInfo;
  STATS: ServiceStats;
}

export interface AskOptions {
  /** The longest the scatter-gather waits. */
  maxWaitMs: number;
  /** Once replies have started coming, this long without one ends the wait early. */
  silenceMs: number;
}

/**
 * Asks `$SRV.<verb>` (of one service, or all) and returns the replies that came, as JSON; none when no instance
 * answers (the server's "no responders"). A reply that is not JSON is left out. The replies are not checked further.
 */
export async function askServices<V extends ServiceVerb>(nc: NatsConnection, verb: V, name: string | undefined, options: AskOptions): Promise<Replies[V][]> {
  const found: Replies[V][] = [];
  try {
    const replies = await nc.requestMany(controlSubject(verb, name), undefined, { strategy: 'stall', maxWait: options.maxWaitMs, stall: options.silenceMs });
    for await (const msg of replies) {
      try {
        found.push(msg.json<Replies[V]>());
      } catch {
        // Not JSON: not a micro service's reply.
      }
    }
  } catch (err) {
    if (!(err instanceof errors.NoRespondersError || (err instanceof errors.RequestError && err.isNoResponders()))) throw err;
  }
  return found;
}
