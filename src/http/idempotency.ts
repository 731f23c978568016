import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Knex } from 'knex';
import type { Clock } from '../lib/clock';
import { AppError, ConflictError, ValidationError } from './errors';

/**
 * Idempotency-Key with Stripe semantics, enforced by the primary key (principal, key):
 * the first request runs and its response is stored for 24 hours; a replay gets the stored response; a replay
 * while the first is still running gets 409; the same key with a different request gets 422.
 * A 5xx is not stored, so the client may retry. If a process dies mid-request the lock lapses
 * after LOCK_MS and a retry may run; the natural-key constraints behind every create keep that
 * retry from creating a second object.
 */
const LOCK_MS = 60_000;
/** Stored responses are replayed for 24 hours (Stripe); after that the key may be used afresh. */
const KEY_TTL_MS = 24 * 60 * 60 * 1000;
const KEY_PATTERN = /^[A-Za-z0-9_\-.:]{1,255}$/;

interface StoredKey {
  method: string;
  path: string;
  request_hash: string;
  response_status: number | null;
  response_body: unknown;
  locked_until: Date | null;
}

export function idempotency(deps: { db: Knex; clock: Clock }): RequestHandler {
  return async (req, res, next) => {
    const key = req.get('idempotency-key');
    if (key === undefined) return next();
    if (!KEY_PATTERN.test(key)) {
      throw new ValidationError('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be 1-255 characters of letters, digits and _-.:', { param: 'Idempotency-Key' });
    }
    const principal = (res.locals.principal as { personId?: string } | undefined)?.personId ?? 'anonymous';
    const requestHash = createHash('sha256')
      .update(`${req.method}\n${req.originalUrl}\n${typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? null)}`)
      .digest('hex');
    const now = deps.clock.now();
    const lockedUntil = new Date(now.getTime() + LOCK_MS);

    // An expired key is forgotten first, so the insert below treats the request as new.
    await deps.db('idempotency_keys').where({ principal, key }).where('created_at', '<', new Date(now.getTime() - KEY_TTL_MS)).delete();
    const inserted = await deps.db('idempotency_keys')
      .insert({ principal, key, method: req.method, path: req.originalUrl, request_hash: requestHash, locked_until: lockedUntil, created_at: now })
      .onConflict(['principal', 'key'])
      .ignore()
      .returning('key');

    if (inserted.length === 0) {
      const stored = await deps.db('idempotency_keys').where({ principal, key }).first<StoredKey>();
      if (stored.request_hash !== requestHash) {
        throw new AppError(422, 'idempotency_error', 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request.', { param: 'Idempotency-Key' });
      }
      if (stored.response_status !== null) {
        res.setHeader('idempotent-replayed', 'true');
        res.status(stored.response_status).json(stored.response_body);
        return;
      }
      const takenOver = await deps.db('idempotency_keys')
        .where({ principal, key })
        .whereNull('response_status')
        .where('locked_until', '<', now)
        .update({ locked_until: lockedUntil })
        .returning('key');
      if (takenOver.length === 0) {
        throw new ConflictError('IDEMPOTENCY_KEY_IN_USE', 'A request with this Idempotency-Key is still being processed.', { param: 'Idempotency-Key' });
      }
    }

    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const status = res.statusCode;
      const store = status >= 500
        ? deps.db('idempotency_keys').where({ principal, key }).whereNull('response_status').delete()
        : deps.db('idempotency_keys').where({ principal, key }).update({ response_status: status, response_body: JSON.stringify(body), completed_at: deps.clock.now(), locked_until: null });
      // The response is sent only after the outcome is stored, so a replay can never see less than the client did.
      store.then(() => json(body), () => json(body));
      return res;
    };
    next();
  };
}
