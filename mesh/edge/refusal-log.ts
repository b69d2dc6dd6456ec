// The log lines of refusals, the client errors a gateway answers (bad names, bodies, credentials, limits): at most
// `perSecond` lines a second per error code, and a periodic line with how many of each code were left out. It is
// not for INTERNAL errors or crash reports, which are always logged; and it counts every refusal, logged or not.
import type { Logger } from '../process/logger.ts';
import type { ErrorCode } from '../wire/errors.ts';

/** How often the line with the refusals left out is logged (when any were). */
export const SUPPRESSED_SUMMARY_MS = 10_000;

export interface RefusalLog {
  /**
   * Counts one refusal of this code, and calls `write` (which logs its line) unless the code used its lines this
   * second. An INTERNAL error is no refusal: its line is always written, and not counted here.
   */
  log(code: ErrorCode, write: () => void): void;
  /** Logs the refusals left out since the last summary, and stops the timer. */
  close(): void;
}

export interface RefusalLogOptions {
  /** Where the summary line goes; the refusal lines go wherever `write` sends them. */
  logger: Logger;
  /** Lines a second per code (`log.refusalsPerSecond`); 0 logs none, and counts them all in the summary. */
  perSecond: number;
  summaryMs?: number;
  /** Called for every refusal, logged or not: an exact count (the gateway's metrics). */
  counted?: (code: ErrorCode) => void;
}

/** One code's budget: lines written in the second that began at `since`, and lines left out since the last summary. */
interface Budget {
  since: number;
  written: number;
  suppressed: number;
}

export function createRefusalLog({ logger, perSecond, summaryMs = SUPPRESSED_SUMMARY_MS, counted }: RefusalLogOptions): RefusalLog {
  const budgets = new Map<ErrorCode, Budget>();

  function summarize(): void {
    const suppressed: Partial<Record<ErrorCode, number>> = {};
    let total = 0;
    for (const [code, budget] of budgets) {
      if (budget.suppressed === 0) continue;
      suppressed[code] = budget.suppressed;
      total += budget.suppressed;
      budget.suppressed = 0;
    }
    if (total > 0) logger.warn({ suppressed, total, per_second: perSecond }, 'refusals not logged (over log.refusalsPerSecond); the metrics count them');
  }

  const timer = setInterval(summarize, summaryMs).unref();
  return {
    log(code, write) {
      if (code === 'INTERNAL') return write();
      counted?.(code);
      const now = performance.now();
      let budget = budgets.get(code);
      if (!budget) budgets.set(code, (budget = { since: now, written: 0, suppressed: 0 }));
      if (now - budget.since >= 1000) {
        budget.since = now;
        budget.written = 0;
      }
      if (budget.written < perSecond) {
        budget.written++;
        write();
      } else {
        budget.suppressed++;
      }
    },
    close() {
      clearInterval(timer);
      summarize();
    },
  };
}
