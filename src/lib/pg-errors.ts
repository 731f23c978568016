/** PostgreSQL error codes we act on (idempotency lives in constraints; see STYLE.md habit 8). */
export const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: string; constraint?: string };
  return e.code === UNIQUE_VIOLATION && (constraint === undefined || e.constraint === constraint);
}

/** 22021 invalid byte sequence (a NUL in text), 22P05 untranslatable character (`\u0000` in jsonb). */
export function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}

/** RP001: a write into a month the school has closed (raised by the report triggers). */
export function isClosedPeriod(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'RP001';
}
