import { z } from 'zod';
import {
  AmountVnd,
  type BankAdapter,
  type InboundRequest,
  ProviderTransactionId,
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
  rejected,
  secretsEqual,
} from './bank-adapter';

/**
 * SePay webhook. Fields we do not use (`gateway`, `accumulated`) are not checked, so a cosmetic
 * change on SePay's side cannot block a real payment.
 */
export const SepayWebhook = z.object({
  id: ProviderTransactionId,
  transactionDate: VietnamLocalDateTime,
  accountNumber: z.string().min(1),
  code: z.string().nullish(),
  content: z.string(),
  transferType: z.enum(['in', 'out']),
  transferAmount: AmountVnd,
  subAccount: z.string().nullish(),
  referenceCode: z.string().nullish(),
  description: z.string().nullish(),
});
export type SepayWebhook = z.infer<typeof SepayWebhook>;

const APIKEY_HEADER = /^Apikey\s+(\S.*)$/i;

/**
 * SePay authenticates with a static API key, not a signature: the key proves the sender, not the
 * body, and carries no timestamp, so replays are expected and deduped on `id`.
 */
function verifySepay(req: InboundRequest, secret: string): VerifyResult {
  if (secret === '') return rejected('No SePay API key is configured for this endpoint');
  const match = APIKEY_HEADER.exec(req.headers.authorization?.trim() ?? '');
  if (!match?.[1]) return rejected('Missing "Authorization: Apikey <key>" header');
  return secretsEqual(match[1], secret) ? VERIFIED : rejected('The API key does not match');
}

export const sepayAdapter: BankAdapter = {
  provider: 'sepay',
  verify: verifySepay,
  parse: (req) =>
    parseJsonWith(SepayWebhook, req.rawBody, (body) => ({
      externalId: body.id,
      amountVnd: body.transferAmount,
      direction: body.transferType,
      accountNumber: body.accountNumber,
      virtualAccount: blankToNull(body.subAccount),
      description: [body.content, body.description ?? ''].filter((part) => part !== '').join(' '),
      paymentCodeHint: blankToNull(body.code),
      occurredAt: body.transactionDate,
      bankReference: blankToNull(body.referenceCode),
      payerName: null,
      succeeded: true,
    })),
  respond: (outcome) => SUCCESS_FLAG_REPLIES[outcome],
};

export function signSepay(transfer: SimTransfer, secret: string, _now: Date): SignedRequest {
  const body = {
    id: numericIdWhenPossible(transfer.externalId),
    gateway: 'Vietcombank',
    transactionDate: formatVietnamLocal(transfer.occurredAt),
    accountNumber: transfer.accountNumber,
    code: transfer.paymentCode ?? null,
    content: transfer.description,
    transferType: 'in',
    transferAmount: transfer.amountVnd,
    accumulated: 0,
    subAccount: transfer.virtualAccount ?? null,
    referenceCode: transfer.bankReference ?? null,
    description: '',
  };
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Apikey ${secret}` },
    body: JSON.stringify(body),
    query: {},
  };
}
