import type { Request } from 'express';
import { z } from 'zod';
import { fromZodError } from './errors';

/** Parses one part of a request with its zod schema; every issue is reported, with the first as `param`. */
export function parseBody<T extends z.ZodType>(schema: T, req: Request): z.output<T> {
  const result = schema.safeParse(req.body ?? {});
  if (!result.success) throw fromZodError(result.error, 'body');
  return result.data;
}

export function parseQuery<T extends z.ZodType>(schema: T, req: Request): z.output<T> {
  const result = schema.safeParse(req.query ?? {});
  if (!result.success) throw fromZodError(result.error, 'query');
  return result.data;
}

export function parseParams<T extends z.ZodType>(schema: T, req: Request): z.output<T> {
  const result = schema.safeParse(req.params ?? {});
  if (!result.success) throw fromZodError(result.error, 'path');
  return result.data;
}

/** Opaque ids as they appear in paths: a prefix and hex, nothing a query could trip on. */
export const IdParam = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[0-9a-f]{32}$`), `must be a ${prefix}_ id`);

/** Cursor pagination: `limit` (1..100, default 20) and `starting_after` (the last id seen). */
export const PaginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  // No control characters: PostgreSQL refuses a NUL byte in text, and no id holds one.
  starting_after: z.string().min(1).max(100).refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20), 'must not contain control characters').optional(),
});
export type PaginationQuery = z.output<typeof PaginationQuery>;

export interface Page<T> {
  data: T[];
  has_more: boolean;
}

/** Repositories fetch limit + 1 rows; the extra row only says there is more. */
export function toPage<T>(rows: T[], limit: number): Page<T> {
  return { data: rows.slice(0, limit), has_more: rows.length > limit };
}
