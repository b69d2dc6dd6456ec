// One service instance on the NATS micro services protocol, shaped like nats.js's own `services.add`: endpoints in a
// queue group, counted, and the answers to `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS` by name and by id. What an
// endpoint does is its handler's; nats.js 3's services module is a pre-release whose types do not match its core.
import { nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from '../process/logger.ts';
import { subscribe, type Guard } from '../process/nats-callbacks.ts';
import { controlSubject, RESPONSE_TYPE, type EndpointInfo, type EndpointStats, type ServiceIdentity, type ServiceInfo, type ServiceStats, type ServiceVerb } from '../wire/micro.ts';

export interface MicroServiceConfig {
  name: string;
  /** Where a failure inside an endpoint's or a `$SRV` subscription's callback is logged. */
  logger: Logger;
  version: string;
  description?: string;
  /** Left out of the replies when undefined. */
  metadata?: Record<string, string>;
  /** The `data` of an endpoint in `$SRV.STATS`. */
  statsHandler?: (endpoint: EndpointInfo) => Promise<unknown>;
}

export interface EndpointOptions {
  subject: string;
  queue: string;
  metadata?: Record<string, string>;
  /** Serves one request; what it throws is counted as the endpoint's error (and logged by the guard). */
  handler: (msg: Msg) => void;
  /**
   * The endpoint's figures as the handler counts them, over each whole answer (a handler that answers later than
   * it returns, as every async one does): `$SRV.STATS` reports these instead of the synchronous part it can time.
   */
  figures?: () => EndpointFigures;
}

export interface EndpointFigures {
  requests: number;
  errors: number;
  processingMs: number;
}

export interface MicroService {
  readonly id: string;
  addEndpoint(name: string, options: EndpointOptions): void;
  /** The service's `$SRV.INFO` reply as it stands. */
  info(): ServiceInfo;
  /** Stops answering `$SRV`, and the endpoints once the requests already delivered to them have been handled. */
  stop(): Promise<void>;
}

interface Endpoint {
  info: EndpointInfo;
  figures: (() => EndpointFigures) | undefined;
  requests: number;
  errors: number;
  lastError?: string;
  /** Time spent in the handler's synchronous part, in ms; what a handler does after it returns is its own to count. */
  processingMs: number;
}

const encoder = new TextEncoder();

class Micro implements MicroService {
  readonly id = nuid.next();
  private readonly started = new Date().toISOString();
  private readonly endpoints: Endpoint[] = [];
  private readonly served: Subscription[] = [];
  private readonly control: Subscription[] = [];
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly config: MicroServiceConfig,
  ) {
    const ping = encoder.encode(JSON.stringify(this.identity('PING')));
    const replies: Record<ServiceVerb, () => Promise<Uint8Array> | Uint8Array> = {
      PING: () => ping,
      INFO: () => encoder.encode(JSON.stringify(this.info())),
      STATS: async () => encoder.encode(JSON.stringify(await this.stats())),
    };
    for (const verb of ['PING', 'INFO', 'STATS'] as const) {
      for (const subject of [controlSubject(verb), controlSubject(verb, config.name), controlSubject(verb, config.name, this.id)]) {
        this.control.push(
          subscribe(nc, subject, {}, this.guard(subject), (msg) => {
            if (msg.reply) return Promise.resolve(replies[verb]()).then((body) => msg.respond(body));
          }),
        );
      }
    }
  }

  addEndpoint(name: string, { subject, queue, metadata, handler, figures }: EndpointOptions): void {
    const endpoint: Endpoint = { info: { name, subject, queue_group: queue, metadata }, figures, requests: 0, errors: 0, processingMs: 0 };
    this.served.push(
      subscribe(this.nc, subject, { queue }, this.guard(subject), (msg) => {
        const start = performance.now();
        endpoint.requests++;
        try {
          handler(msg);
        } catch (thrown) {
          endpoint.errors++;
          endpoint.lastError = (thrown as Error).message;
          throw thrown;
        } finally {
          endpoint.processingMs += performance.now() - start;
        }
      }),
    );
    this.endpoints.push(endpoint);
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.nc.isClosed()) return;
      for (const sub of this.control) sub.unsubscribe();
      await Promise.allSettled(this.served.map((sub) => sub.drain()));
    })();
    return this.stopped;
  }

  private guard(subject: string): Guard {
    return { logger: this.config.logger, about: { service: this.config.name, subject } };
  }

  private identity(verb: ServiceVerb): ServiceIdentity {
    const { name, version, metadata } = this.config;
    return { type: RESPONSE_TYPE[verb], name, id: this.id, version, metadata };
  }

  info(): ServiceInfo {
    return { ...this.identity('INFO'), description: this.config.description ?? '', endpoints: this.endpoints.map((e) => e.info) };
  }

  private async stats(): Promise<ServiceStats> {
    const endpoints = await Promise.all(
      this.endpoints.map(async (endpoint): Promise<EndpointStats> => {
        const { info, lastError } = endpoint;
        const { requests, errors, processingMs } = endpoint.figures?.() ?? endpoint;
        const processing = Math.round(processingMs * 1e6);
        return {
          name: info.name,
          subject: info.subject,
          queue_group: info.queue_group,
          num_requests: requests,
          num_errors: errors,
          last_error: lastError,
          processing_time: processing,
          average_processing_time: requests ? Math.round(processing / requests) : 0,
          data: await this.config.statsHandler?.(info).catch(() => undefined),
        };
      }),
    );
    return { ...this.identity('STATS'), started: this.started, endpoints };
  }
}

/** Starts answering `$SRV` at once; add the endpoints, then flush when the server must have the subscriptions. */
export function addMicroService(nc: NatsConnection, config: MicroServiceConfig): MicroService {
  return new Micro(nc, config);
}
