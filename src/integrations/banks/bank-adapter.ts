import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The port every bank-transfer notification goes through: verify the raw request, parse it into one
 * normalized transfer, and answer the provider the way it expects. Adapters are pure (no database, no
 * Express) so the payment service and the bank simulator share them. Formats: shared/reference/FORMATS.md.
 */
export type Provider = 'sepay' | 'casso' | 'vnpay' | 'direct';

/** What a route hands an adapter. Header names are lower-case. */
export interface InboundRequest {
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  query: Record<string, string>;
}

export interface NormalizedTransfer {
  /** The provider's dedupe key (SePay id, Casso data.id, VNPay vnp_TransactionNo, direct: webhook-id). */
  externalId: string;
  /** Positive safe integer; VNPay's vnp_Amount / 100, which must divide exactly. */
  amountVnd: number;
  direction: 'in' | 'out';
  /** The receiving (school's) account; '' for VNPay, which pays a merchant, not an account. */
  accountNumber: string;
  virtualAccount: string | null;
  /** Free text where a payment code may appear. */
  description: string;
  /** A payment code the provider already picked out (SePay `code`, VNPay vnp_TxnRef). */
  paymentCodeHint: string | null;
  /** ISO 8601 instant; provider local times are Asia/Ho_Chi_Minh (UTC+7). */
  occurredAt: string | null;
  bankReference: string | null;
  payerName: string | null;
  succeeded: boolean;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };
export type ParseResult = { ok: true; transfer: NormalizedTransfer } | { ok: false; reason: string; param?: string };
export type Outcome =
  | 'accepted'
  | 'duplicate'
  | 'invalid_signature'
  | 'malformed'
  | 'order_not_found'
  | 'invalid_amount'
  | 'already_confirmed'
  | 'error';

export interface BankAdapter {
  provider: Provider;
  /**
   * Checks authenticity on the raw request, in constant time, before anything is parsed. `secret` is
   * the endpoint's secret (SePay API key, Casso checksum key, VNPay hash secret, direct: Standard
   * Webhooks secret `whsec_<base64>`). `now` comes from the injectable clock.
   */
  verify(req: InboundRequest, secret: string, now: Date): VerifyResult;
  /** Parses and validates (zod) the verified payload into a NormalizedTransfer. */
  parse(req: InboundRequest): ParseResult;
  /** The reply the provider expects for an outcome. */
  respond(outcome: Outcome): { status: number; body: unknown };
}

/** A transfer as the bank simulator and tests describe it, before a provider dresses it up. */
export interface SimTransfer {
  externalId: string;
  amountVnd: number;
  accountNumber: string;
  description: string;
  paymentCode?: string;
  occurredAt: Date;
  bankReference?: string;
  payerName?: string;
  virtualAccount?: string;
}

/** Builds a correctly signed request for a transfer, as the provider would send it (for the bank simulator and tests). */
export interface SignedRequest {
  method: 'POST' | 'GET';
  headers: Record<string, string>;
  body: string | null;
  query: Record<string, string>;
}

/** How far a signed timestamp may be from our clock, either way, before we call it a replay. */
export const SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000;

export const VERIFIED: VerifyResult = { ok: true };

export function rejected(reason: string): VerifyResult {
  return { ok: false, reason };
}

/** Compares two secrets in constant time; hashing both first keeps their lengths from leaking. */
export function secretsEqual(a: string | Buffer, b: string | Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * Reads a request body as JSON. Invalid UTF-8 is refused rather than silently replaced, so the text
 * we parse is byte for byte the text that was signed.
 */
export function readJsonBody(rawBody: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(rawBody)) };
  } catch {
    return { ok: false };
  }
}

/** A bank amount: positive whole dong within the safe integer range (no floats, no strings). */
export const AmountVnd = z.int().positive();

/** A provider's transaction id: SePay and Casso send integers; a string is taken as is. */
export const ProviderTransactionId = z.union([z.int().nonnegative(), z.string().min(1)]).transform(String);

/** SePay and Casso send integer ids; a signer keeps a numeric id numeric, as they would. */
export function numericIdWhenPossible(externalId: string): number | string {
  const asNumber = Number(externalId);
  return /^(0|[1-9]\d*)$/.test(externalId) && Number.isSafeInteger(asNumber) ? asNumber : externalId;
}

const VIETNAM_OFFSET_MS = 7 * 60 * 60 * 1000;
const VIETNAM_LOCAL_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Formats an instant as Vietnam wall-clock time, `YYYY-MM-DD HH:mm:ss`. */
export function formatVietnamLocal(instant: Date): string {
  const shifted = new Date(instant.getTime() + VIETNAM_OFFSET_MS).toISOString();
  return `${shifted.slice(0, 10)} ${shifted.slice(11, 19)}`;
}

/** Reads Vietnam wall-clock time `YYYY-MM-DD HH:mm:ss` as an ISO 8601 instant, or null if it names no real time. */
export function parseVietnamLocal(value: string): string | null {
  const match = VIETNAM_LOCAL_PATTERN.exec(value);
  if (!match) return null;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const instant = new Date(
    Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0, hour ?? 0, minute ?? 0, second ?? 0) - VIETNAM_OFFSET_MS,
  );
  // Date.UTC rolls 2025-02-30 over to March; formatting back catches every such impossible time.
  return formatVietnamLocal(instant) === value ? instant.toISOString() : null;
}

/** A `YYYY-MM-DD HH:mm:ss` Vietnam local time, read as an ISO instant. */
export const VietnamLocalDateTime = z.string().transform((value, ctx) => {
  const iso = parseVietnamLocal(value);
  if (iso === null) {
    ctx.issues.push({ code: 'custom', message: 'Expected a real YYYY-MM-DD HH:mm:ss time (Vietnam)', input: value });
    return z.NEVER;
  }
  return iso;
});

/** An empty string from a provider means "none". */
export function blankToNull(value: string | null | undefined): string | null {
  return value === undefined || value === null || value === '' ? null : value;
}

/** Turns a zod failure into a ParseResult: every issue in the reason, the first offending field as `param`. */
export function parseFailure(error: z.ZodError): ParseResult {
  const pathOf = (issue: z.ZodError['issues'][number]): string => {
    const path = issue.path.map(String);
    // An unknown key is reported at its parent; name the key itself.
    if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
    return path.join('.');
  };
  const reason = error.issues.map((issue) => `${pathOf(issue) || '(body)'}: ${issue.message}`).join('; ');
  const first = error.issues[0];
  const param = first ? pathOf(first) : '';
  return param ? { ok: false, reason, param } : { ok: false, reason };
}

/** Validates a payload with `schema` and maps it to a transfer. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  payload: unknown,
  toTransfer: (data: z.output<T>) => NormalizedTransfer,
): ParseResult {
  const parsed = schema.safeParse(payload);
  return parsed.success ? { ok: true, transfer: toTransfer(parsed.data) } : parseFailure(parsed.error);
}

/** Parses a JSON body with `schema`; a body that is not JSON is malformed as a whole. */
export function parseJsonWith<T extends z.ZodType>(
  schema: T,
  rawBody: Buffer,
  toTransfer: (data: z.output<T>) => NormalizedTransfer,
): ParseResult {
  const body = readJsonBody(rawBody);
  if (!body.ok) return { ok: false, reason: 'The body is not JSON' };
  return parseWith(schema, body.value, toTransfer);
}

/**
 * Replies for providers that read a `success` flag (SePay, Casso). 2xx tells them to stop sending:
 * a transfer we stored but could not match, or one for an already paid order, will not improve by
 * being resent, while our own failure (`error`) should be retried.
 */
export const SUCCESS_FLAG_REPLIES: Readonly<Record<Outcome, { status: number; body: unknown }>> = {
  accepted: { status: 200, body: { success: true } },
  duplicate: { status: 200, body: { success: true } },
  order_not_found: { status: 200, body: { success: true } },
  invalid_amount: { status: 200, body: { success: true } },
  already_confirmed: { status: 200, body: { success: true } },
  invalid_signature: { status: 401, body: { success: false } },
  malformed: { status: 400, body: { success: false } },
  error: { status: 500, body: { success: false } },
};
