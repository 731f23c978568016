import { createHmac } from 'node:crypto';
import { z } from 'zod';
import {
  AmountVnd,
  blankToNull,
  type BankAdapter,
  type InboundRequest,
  type Outcome,
  type ParseResult,
  SIGNATURE_TOLERANCE_MS,
  type SignedRequest,
  type SimTransfer,
  VERIFIED,
  type VerifyResult,
  parseJsonWith,
  rejected,
  secretsEqual,
} from './bank-adapter';

/** Our native transfer notification, sent by banks that integrate with us directly. */
export const DirectTransferNotification = z
  .object({
    transaction_id: z.string().min(1),
    account_number: z.string().min(1),
    amount_vnd: AmountVnd,
    description: z.string(),
    occurred_at: z.iso.datetime({ offset: true }),
    virtual_account: z.string().nullish(),
    payer_name: z.string().nullish(),
    bank_reference: z.string().nullish(),
  })
  .strict();
export type DirectTransferNotification = z.infer<typeof DirectTransferNotification>;

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key inside a Standard Webhooks secret `whsec_<base64>`, or null if the secret is not one. */
function signingKey(secret: string): Buffer | null {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return BASE64.test(encoded) && encoded.length % 4 === 0 ? Buffer.from(encoded, 'base64') : null;
}

function signature(key: Buffer, webhookId: string, timestamp: string, rawBody: Buffer): string {
  return createHmac('sha256', key).update(`${webhookId}.${timestamp}.`).update(rawBody).digest('base64');
}

/** Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`; the header may list several `v1,<base64>` (key rotation). */
function verifyDirect(req: InboundRequest, secret: string, now: Date): VerifyResult {
  const key = signingKey(secret);
  if (!key) return rejected('The endpoint secret is not a whsec_<base64> secret');
  const webhookId = req.headers['webhook-id'];
  const timestamp = req.headers['webhook-timestamp'];
  const signatures = req.headers['webhook-signature'];
  if (!webhookId || !timestamp || !signatures) return rejected('Missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d{1,13}$/.test(timestamp)) return rejected('webhook-timestamp is not unix seconds');
  if (Math.abs(now.getTime() - Number(timestamp) * 1000) > SIGNATURE_TOLERANCE_MS) {
    return rejected('The webhook timestamp is more than 5 minutes from now');
  }
  const expected = signature(key, webhookId, timestamp, req.rawBody);
  const matches = signatures
    .split(' ')
    .some((candidate) => candidate.startsWith('v1,') && secretsEqual(candidate.slice('v1,'.length), expected));
  return matches ? VERIFIED : rejected('No webhook signature matches');
}

function parseDirect(req: InboundRequest): ParseResult {
  // webhook-id is checked by verify; without it there is no dedupe key, so the request is malformed.
  const webhookId = req.headers['webhook-id'];
  if (!webhookId) return { ok: false, reason: 'Missing webhook-id header', param: 'webhook-id' };
  return parseJsonWith(DirectTransferNotification, req.rawBody, (body) => ({
    externalId: webhookId,
    amountVnd: body.amount_vnd,
    direction: 'in',
    accountNumber: body.account_number,
    virtualAccount: blankToNull(body.virtual_account),
    description: body.description,
    paymentCodeHint: null,
    occurredAt: new Date(body.occurred_at).toISOString(),
    // The bank's own transaction id is the reference of last resort, so reconciliation can still find it.
    bankReference: blankToNull(body.bank_reference) ?? blankToNull(body.transaction_id),
    payerName: body.payer_name ?? null,
    succeeded: true,
  }));
}

const DIRECT_REPLIES: Readonly<Record<Outcome, { status: number; body: unknown }>> = {
  accepted: { status: 200, body: { received: true } },
  duplicate: { status: 200, body: { received: true } },
  invalid_signature: { status: 401, body: { error: 'invalid_signature' } },
  malformed: { status: 400, body: { error: 'malformed' } },
  order_not_found: { status: 400, body: { error: 'order_not_found' } },
  invalid_amount: { status: 400, body: { error: 'invalid_amount' } },
  already_confirmed: { status: 400, body: { error: 'already_confirmed' } },
  // Our failure, not the sender's: a 5xx asks it to retry later.
  error: { status: 500, body: { error: 'error' } },
};

export const directAdapter: BankAdapter = {
  provider: 'direct',
  verify: verifyDirect,
  parse: parseDirect,
  respond: (outcome) => DIRECT_REPLIES[outcome],
};

/** The webhook id is the transfer's externalId, so a redelivery carries the same dedupe key. */
export function signDirect(transfer: SimTransfer, secret: string, now: Date): SignedRequest {
  const key = signingKey(secret);
  if (!key) throw new RangeError('A Standard Webhooks secret looks like whsec_<base64>');
  const body: DirectTransferNotification = {
    transaction_id: transfer.bankReference ?? transfer.externalId,
    account_number: transfer.accountNumber,
    amount_vnd: transfer.amountVnd,
    description: transfer.description,
    occurred_at: transfer.occurredAt.toISOString(),
    virtual_account: transfer.virtualAccount ?? null,
    payer_name: transfer.payerName ?? null,
    bank_reference: transfer.bankReference ?? null,
  };
  const rawBody = JSON.stringify(body);
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': transfer.externalId,
      'webhook-timestamp': timestamp,
      'webhook-signature': `v1,${signature(key, transfer.externalId, timestamp, Buffer.from(rawBody))}`,
    },
    body: rawBody,
    query: {},
  };
}
