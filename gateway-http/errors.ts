// How the HTTP gateway answers an error: the MeshError's status and body in the request's codec, under its id,
// with one refusal line or (INTERNAL) a crash report. It answers errors; the steps that throw them are elsewhere.
import type { Next } from 'koa';
import {
  MeshError,
  RateLimitedError,
  jsonCodec,
  quoteName,
  reportGatewayCrash,
  withErrorId,
  type Logger,
  type ProcedureRegistry,
  type Reports,
  type Identity,
  type RefusalLog,
} from '../mesh/gateway.ts';
import { LOGGED_PATH_CHARS, procedureOf, requestLogger, type GatewayContext } from './context.ts';

export interface ErrorAnswerOptions {
  logger: Logger;
  registry: ProcedureRegistry;
  refusals: RefusalLog;
  reports?: Reports;
}

export interface ErrorAnswers {
  /** The step around all others: whatever they throw (and a route no one took) is answered as a mesh error. */
  mapErrors(ctx: GatewayContext, next: Next): Promise<void>;
  /** One info line under the error's id, for an error the gateway made that is not INTERNAL, unless its code used its lines this second. */
  logRefusal(ctx: GatewayContext, error: MeshError): void;
  /** An INTERNAL error the gateway made: logged once under its id and reported; named by its procedure when the registry knows it, else the route. */
  reportCrash(ctx: GatewayContext, named: string | undefined, identity: Identity | undefined, error: MeshError, cause: unknown, started: number): void;
}

export function createErrorAnswers({ logger, registry, refusals, reports }: ErrorAnswerOptions): ErrorAnswers {
  /**
   * Logs an error the gateway made under its id: an INTERNAL one with the full cause, and a crash report; one info
   * line otherwise.
   */
  function logError(ctx: GatewayContext, error: MeshError, cause: unknown, started: number) {
    if (error.code !== 'INTERNAL') return logRefusal(ctx, error);
    reportCrash(ctx, ctx.method === 'POST' ? procedureOf(ctx.path) : undefined, ctx.state.identity, error, cause, started);
  }

  function logRefusal(ctx: GatewayContext, error: MeshError) {
    refusals.log(error.code, () => {
      const path = ctx.path.slice(0, LOGGED_PATH_CHARS);
      requestLogger(logger, ctx).info({ path, error_id: error.id, code: error.code, reason: error.message }, 'request refused');
    });
  }

  function reportCrash(ctx: GatewayContext, named: string | undefined, identity: Identity | undefined, error: MeshError, cause: unknown, started: number) {
    const procedure = named !== undefined && registry.get(named) ? named : `${ctx.method} ${ctx.path.slice(0, LOGGED_PATH_CHARS)}`;
    const durationMs = performance.now() - started;
    reportGatewayCrash(reports, logger, { gateway: 'gateway-http', procedure, caller: identity?.id, durationMs, hop: ctx.state.hop, error, cause });
  }

  async function mapErrors(ctx: GatewayContext, next: Next) {
    ctx.state.codec = jsonCodec;
    const started = performance.now();
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new MeshError('NOT_FOUND', `no route ${ctx.method} ${quoteName(ctx.path)}`);
    } catch (err) {
      const error = err instanceof MeshError ? err : new MeshError('INTERNAL', 'internal error');
      const made = error.id === undefined;
      withErrorId(error);
      if (made) logError(ctx, error, err, started);
      ctx.status = error.status;
      if (error.code === 'UNAUTHENTICATED') ctx.set('WWW-Authenticate', 'Bearer realm="nats-mesh"');
      if (error instanceof RateLimitedError) ctx.set('Retry-After', String(error.retryAfterS));
      ctx.type = ctx.state.codec.contentType;
      ctx.body = Buffer.from(ctx.state.codec.encode(error.toBody()));
    }
  }

  return { mapErrors, logRefusal, reportCrash };
}
