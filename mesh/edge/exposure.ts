// Whether a gateway is reachable beyond this machine without authentication, said once at start as a warning.
// It decides nothing and refuses nothing: binding and authentication are the operator's (docs/operations.md).
import type { Logger } from '../process/logger.ts';

const LOOPBACK_NAMES = new Set(['localhost', '::1', '[::1]']);

/** Whether a listen host only accepts connections from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(host) || host.toLowerCase() === '::ffff:127.0.0.1';
}

/**
 * Logs one warning when a gateway listens beyond loopback with no authentication configured; returns whether it
 * did. `authConfigured` comes from the auth configuration (false until a gateway has one).
 */
export function warnIfOpen(gateway: string, host: string, authConfigured: boolean, logger: Logger): boolean {
  if (authConfigured || isLoopback(host)) return false;
  logger.warn(
    { host, gateway },
    `${gateway} listens on ${host} with no authentication: anyone who can reach this address can call every procedure. ` +
      'Configure authentication and a policy, or listen on 127.0.0.1 (docs/operations.md, "Production")',
  );
  return true;
}
