// Cross-origin protection by the browser's own signals, as Go's net/http.CrossOriginProtection does it: a request a
// browser marks as coming from another site is refused unless its Origin is trusted. It never looks at content types
// or credentials, and a request with neither header (curl, scripts, servers) is not a browser's: it passes.

/** The request headers the rule reads (lower-case names, as Node gives them). */
export interface OriginSignals {
  'sec-fetch-site'?: string | string[] | undefined;
  origin?: string | string[] | undefined;
  host?: string | undefined;
}

const one = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/**
 * Why the request is a cross-origin one from a browser that must be refused, or undefined when it may go on:
 * `Sec-Fetch-Site: same-origin` or `none` (typed in, a bookmark) passes; otherwise an Origin in `trusted` (`*`
 * trusts every one) passes; otherwise any `Sec-Fetch-Site` is refused, and without one an Origin whose host is not
 * the request's Host is refused (an older browser). Neither header: not a browser, it passes.
 */
export function crossOriginProblem(headers: OriginSignals, trusted: ReadonlySet<string>): string | undefined {
  const site = one(headers['sec-fetch-site']);
  if (site === 'same-origin' || site === 'none') return undefined;
  const origin = one(headers.origin);
  if (origin !== undefined && (trusted.has('*') || trusted.has(origin))) return undefined;
  if (site !== undefined) return `a browser's ${site} request${origin ? ` from ${origin}` : ''} is refused (Sec-Fetch-Site: ${site})`;
  if (origin === undefined) return undefined;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  return host !== undefined && host === headers.host ? undefined : `a browser's request from ${origin} is refused: that origin is not trusted`;
}
