import type { RequestHandler } from 'express';
import type { Metrics } from '../lib/metrics';

/**
 * Counts every request and its latency by route template (`/v1/schools/:school_id`, never the
 * concrete path, so ids do not explode the label space) and status. Bank callbacks are also
 * counted by provider and outcome: the outcome the route left in `res.locals.callbackOutcome`, or
 * for a request refused before it (too large, undecodable) `rejected`, and for a failure `error`.
 */
export function requestMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const labels = { method: req.method, route, status: String(res.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      const provider = /^\/(?:callbacks\/([a-z]+)|(billpay))\//.exec(route);
      if (provider) {
        const outcome = (res.locals.callbackOutcome as string | undefined) ?? (res.statusCode >= 500 ? 'error' : 'rejected');
        metrics.bankCallbacks.inc({ provider: provider[1] ?? provider[2]!, outcome });
      }
    });
    next();
  };
}
