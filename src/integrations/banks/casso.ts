import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import {
  type BankAdapter,
  type InboundRequest,
  ProviderTransactionId,
  SIGNATURE_TOLERANCE_MS,
  SUCCESS_FLAG_REPLIES,
  type SignedRequest,
  type SimTransfer,
  VERIFIED,
  VietnamLocalDateTime,
  type VerifyResult,
  blankToNull,
  formatVietnamLocal,
  numericIdWhenPossible,
  parseJsonWith,
  readJsonBody,
  rejected,
} from './bank-adapter';

/** Casso webhook v2. Casso signs money leaving the account too: a negative amount is an outgoing transfer. */
export const CassoWebhook = z.object({
  error: z.literal(0),
  data: z.object({
    id: ProviderTransactionId,
    reference: z.string().nullish(),
    description: z.string(),
    amount: z.int().refine((amount) => amount !== 0, 'Expected a non-zero amount'),
    transactionDateTime: VietnamLocalDateTime,
    accountNumber: z.string().min(1),
    virtualAccountNumber: z.string().nullish(),
    counterAccountName: z.string().nullish(),
  }),
});
export type CassoWebhook = z.infer<typeof CassoWebhook>;

const SIGNATURE_HEADER = /^t=(\d{1,16}),v1=([0-9a-fA-F]{128})$/;

/** Casso signs a canonical form of the body: compact JSON with keys sorted at every level. */
export function sortKeysRecursively(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysRecursively);
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a "__proto__" key stays data instead of becoming a prototype.
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeysRecursively((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

function cassoDigest(checksumKey: string, timestampMs: string, body: unknown): Buffer {
  return createHmac('sha512', checksumKey)
    .update(`${timestampMs}.${JSON.stringify(sortKeysRecursively(body))}`)
    .digest();
}

function verifyCasso(req: InboundRequest, checksumKey: string, now: Date): VerifyResult {
  if (checksumKey === '') return rejected('No Casso checksum key is configured for this endpoint');
  const match = SIGNATURE_HEADER.exec(req.headers['x-casso-signature']?.replace(/\s+/g, '') ?? '');
  const timestampMs = match?.[1];
  const signatureHex = match?.[2];
  if (!timestampMs || !signatureHex) return rejected('Missing or unreadable X-Casso-Signature header');
  if (Math.abs(now.getTime() - Number(timestampMs)) > SIGNATURE_TOLERANCE_MS) {
    return rejected('The signature timestamp is more than 5 minutes from now');
  }
  const body = readJsonBody(req.rawBody);
  if (!body.ok) return rejected('The body is not JSON, so it cannot carry a Casso signature');
  const expected = cassoDigest(checksumKey, timestampMs, body.value);
  return timingSafeEqual(expected, Buffer.from(signatureHex, 'hex')) ? VERIFIED : rejected('The signature does not match');
}

export const cassoAdapter: BankAdapter = {
  provider: 'casso',
  verify: verifyCasso,
  parse: (req) =>
    parseJsonWith(CassoWebhook, req.rawBody, ({ data }) => ({
      externalId: data.id,
      amountVnd: Math.abs(data.amount),
      direction: data.amount < 0 ? 'out' : 'in',
      accountNumber: data.accountNumber,
      virtualAccount: blankToNull(data.virtualAccountNumber),
      description: data.description,
      paymentCodeHint: null,
      occurredAt: data.transactionDateTime,
      bankReference: blankToNull(data.reference),
      payerName: blankToNull(data.counterAccountName),
      succeeded: true,
    })),
  respond: (outcome) => SUCCESS_FLAG_REPLIES[outcome],
};

export function signCasso(transfer: SimTransfer, checksumKey: string, now: Date): SignedRequest {
  const body = {
    error: 0,
    data: {
      id: numericIdWhenPossible(transfer.externalId),
      reference: transfer.bankReference ?? '',
      description: transfer.description,
      amount: transfer.amountVnd,
      runningBalance: 0,
      transactionDateTime: formatVietnamLocal(transfer.occurredAt),
      accountNumber: transfer.accountNumber,
      bankName: '',
      bankAbbreviation: '',
      virtualAccountNumber: transfer.virtualAccount ?? '',
      virtualAccountName: '',
      counterAccountName: transfer.payerName ?? '',
      counterAccountNumber: '',
      counterAccountBankId: '',
      counterAccountBankName: '',
    },
  };
  const timestampMs = String(now.getTime());
  const signatureHex = cassoDigest(checksumKey, timestampMs, body).toString('hex');
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-casso-signature': `t=${timestampMs},v1=${signatureHex}` },
    body: JSON.stringify(body),
    query: {},
  };
}
