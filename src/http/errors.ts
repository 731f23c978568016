import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { isClosedPeriod, isUnstorableText } from '../lib/pg-errors';

/**
 * The one error family. `code` is stable and documented in openapi.yaml; clients branch on it,
 * never on `message`.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'idempotency_error'
  | 'api_error';

export interface ErrorDetail {
  param?: string;
  code: string;
  message: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly options: { param?: string; details?: unknown } = {},
  ) {
    super(message);
  }
}

export class ValidationError extends AppError {
  constructor(code: string, message: string, options: { param?: string; details?: unknown } = {}) {
    super(400, 'invalid_request_error', code, message, options);
  }
}

/** 422: the request is well-formed but names something that does not exist or cannot apply. */
export class UnprocessableError extends AppError {
  constructor(code: string, message: string, param?: string) {
    super(422, 'invalid_request_error', code, message, { param });
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string, param?: string) {
    super(404, 'not_found_error', code, message, { param });
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, options: { param?: string; details?: unknown } = {}) {
    super(409, 'conflict_error', code, message, options);
  }
}

export class AuthenticationError extends AppError {
  constructor(code = 'UNAUTHENTICATED', message = 'A valid access token is required.') {
    super(401, 'authentication_error', code, message);
  }
}

export class PermissionError extends AppError {
  constructor(code = 'FORBIDDEN', message = 'Your role does not allow this action.') {
    super(403, 'permission_error', code, message);
  }
}

/** Turns every zod issue (not only the first) into details; `param` names the first offender. */
export function fromZodError(error: z.ZodError, location: 'body' | 'query' | 'path' | 'header'): ValidationError {
  const details: ErrorDetail[] = error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const base = issue.path.map(String).join('.');
    const param = keys.length > 0 ? [base, keys[0]].filter(Boolean).join('.') : base;
    // Detail codes follow the same UPPER_SNAKE style as error codes (zod's own are lower case).
    const code = issue.code === 'unrecognized_keys' ? 'UNKNOWN_FIELD' : issue.code === 'custom' ? 'INVALID_VALUE' : issue.code.toUpperCase();
    return { param: param || undefined, code, message: issue.message };
  });
  const first = details[0];
  const code = error.issues.some((i) => i.code === 'unrecognized_keys') && error.issues.length === 1 ? 'UNKNOWN_FIELD' : 'VALIDATION_FAILED';
  return new ValidationError(code, `The request ${location} is invalid: ${first?.message ?? 'invalid value'}.`, {
    param: first?.param,
    details,
  });
}

interface HttpishError {
  type?: string;
  status?: number;
  statusCode?: number;
}

/** Maps body-parser failures (malformed JSON, too large, wrong charset) to stable codes. */
function fromBodyParserError(err: HttpishError): AppError | null {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ValidationError('MALFORMED_JSON', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new AppError(413, 'invalid_request_error', 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new AppError(415, 'invalid_request_error', 'UNSUPPORTED_ENCODING', 'Send the body as UTF-8.');
    case 'request.aborted':
      return new ValidationError('REQUEST_ABORTED', 'The request was aborted.');
    default:
      // Any other body-parser refusal (too many form fields, a bad content length, ...) is the
      // client's fault: a 400, never a 500.
      if (typeof err.type === 'string' && (err.status ?? err.statusCode ?? 500) < 500) {
        return new ValidationError('BODY_INVALID', 'The request body could not be read.');
      }
      return null;
  }
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof z.ZodError) return fromZodError(err, 'body');
  // Text PostgreSQL cannot store (a NUL byte, `\u0000` in JSON) that a schema let through: the
  // statement failed, so nothing was written, and the fault is the client's.
  if (isUnstorableText(err)) return new ValidationError('VALIDATION_FAILED', 'The request holds a character that cannot be stored (NUL).');
  // A write the database refused because it would change a closed month (the transaction rolled back).
  if (isClosedPeriod(err)) return new ConflictError('PERIOD_CLOSED', 'This would change a month the school has closed.');
  // The router could not percent-decode a path parameter (`%ED%A0%80` is no UTF-8): the client's fault.
  if (err instanceof URIError) return new ValidationError('VALIDATION_FAILED', 'The request path is invalid: a parameter is not percent-encoded UTF-8.', { param: 'path' });
  if (err && typeof err === 'object') {
    const mapped = fromBodyParserError(err as HttpishError);
    if (mapped) return mapped;
  }
  return new AppError(500, 'api_error', 'INTERNAL_ERROR', 'Something went wrong on our side. Quote the request id when reporting it.');
}

/** The one place errors become HTTP: the envelope from STYLE.md, no stack traces or SQL. */
export const errorMiddleware: ErrorRequestHandler = (err, req, res, _next) => {
  const appError = toAppError(err);
  const requestId = res.locals.requestId as string;
  res.locals.error = appError;
  if (appError.status >= 500) res.locals.cause = err;
  if (res.headersSent) {
    res.end();
    return;
  }
  const body: Record<string, unknown> = {
    type: appError.type,
    code: appError.code,
    message: appError.message,
  };
  if (appError.options.param !== undefined) body.param = appError.options.param;
  if (appError.options.details !== undefined) body.details = appError.options.details;
  body.request_id = requestId;
  res.status(appError.status).json({ error: body });
};

export const notFoundRoute: RequestHandler = (req) => {
  throw new NotFoundError('ROUTE_NOT_FOUND', `No route for ${req.method} ${req.path}.`);
};
