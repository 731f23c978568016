import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { maskPersonalIdsInText } from '../lib/personal-id';

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Every response carries x-request-id: the caller's if it is a sane token, otherwise a new one. */
export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.get('x-request-id');
  const id = incoming && INCOMING_ID.test(incoming) ? incoming : `req_${randomUUID().replace(/-/g, '')}`;
  res.locals.requestId = id;
  res.setHeader('x-request-id', id);
  next();
};

/**
 * One log line per request, with the request id; 4xx at info, 5xx at error. URLs pass through
 * maskPersonalIdsInText, so a personal ID in a path never reaches the log in full.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const error = res.locals.error as { code?: string } | undefined;
      const line = {
        request_id: res.locals.requestId as string,
        method: req.method,
        path: maskPersonalIdsInText(req.originalUrl),
        status: res.statusCode,
        duration_ms: Math.round(durationMs * 10) / 10,
        person_id: (res.locals.principal as { personId?: string } | undefined)?.personId,
        error_code: error?.code,
      };
      if (res.statusCode >= 500) {
        const cause = res.locals.cause as Error | undefined;
        logger.error({ ...line, err: cause ? { name: cause.name, message: maskPersonalIdsInText(cause.message), stack: maskPersonalIdsInText(cause.stack ?? '') } : undefined }, 'request failed');
      } else {
        logger.info(line, 'request');
      }
    });
    next();
  };
}
