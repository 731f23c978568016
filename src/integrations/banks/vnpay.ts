import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import {
  type BankAdapter,
  type InboundRequest,
  type Outcome,
  type SignedRequest,
  type SimTransfer,
  VERIFIED,
  type VerifyResult,
  blankToNull,
  formatVietnamLocal,
  parseVietnamLocal,
  parseWith,
  rejected,
} from './bank-adapter';

const HASH_PARAMS_EXCLUDED = new Set(['vnp_SecureHash', 'vnp_SecureHashType']);

/**
 * PHP's `urlencode`, which VNPay's reference code uses: every byte but A-Z a-z 0-9 - _ . is
 * percent-encoded and a space becomes '+'. encodeURIComponent also spares ! ' ( ) * ~, so those are
 * encoded here by hand.
 */
export function phpUrlencode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The string VNPay hashes: every vnp_* param but the hash itself, sorted by key, `key=value` joined by `&`. */
export function vnpaySignedData(params: Record<string, string>): string {
  return Object.keys(params)
    .filter((key) => key.startsWith('vnp_') && !HASH_PARAMS_EXCLUDED.has(key))
    .sort()
    .map((key) => `${phpUrlencode(key)}=${phpUrlencode(params[key] ?? '')}`)
    .join('&');
}

function vnpayDigest(hashSecret: string, params: Record<string, string>): Buffer {
  return createHmac('sha512', hashSecret).update(vnpaySignedData(params)).digest();
}

/** VNPay's IPN carries no timestamp to check; replays are deduped on vnp_TransactionNo. */
function verifyVnpay(req: InboundRequest, hashSecret: string): VerifyResult {
  if (hashSecret === '') return rejected('No VNPay hash secret is configured for this endpoint');
  const given = req.query.vnp_SecureHash ?? '';
  // Hex decoding ignores case, so comparing bytes is the case-insensitive comparison VNPay needs.
  if (!/^[0-9a-fA-F]{128}$/.test(given)) return rejected('Missing or unreadable vnp_SecureHash');
  const expected = vnpayDigest(hashSecret, req.query);
  return timingSafeEqual(expected, Buffer.from(given, 'hex')) ? VERIFIED : rejected('The secure hash does not match');
}

/** `yyyyMMddHHmmss`, Vietnam time, as an ISO instant. */
const VnpayDateTime = z.string().transform((value, ctx) => {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  const iso = match ? parseVietnamLocal(`${match[1]}-${match[2]}-${match[3]} ${match[4]}:${match[5]}:${match[6]}`) : null;
  if (iso === null) {
    ctx.issues.push({ code: 'custom', message: 'Expected a real yyyyMMddHHmmss time (Vietnam)', input: value });
    return z.NEVER;
  }
  return iso;
});

/** vnp_Amount is dong x 100 as a digit string; anything that is not a whole number of dong is refused. */
const VnpayAmount = z
  .string()
  .regex(/^[1-9]\d*$/, 'Expected a positive whole number (VND x 100)')
  .transform((value, ctx) => {
    const hundredths = Number(value);
    if (!Number.isSafeInteger(hundredths) || hundredths % 100 !== 0) {
      ctx.issues.push({ code: 'custom', message: 'Expected a whole number of dong times 100', input: value });
      return z.NEVER;
    }
    return hundredths / 100;
  });

/** The IPN query. VNPay may add parameters, so unknown ones are ignored rather than refused. */
export const VnpayIpnQuery = z.object({
  vnp_TmnCode: z.string().min(1),
  vnp_Amount: VnpayAmount,
  vnp_BankCode: z.string().optional(),
  vnp_BankTranNo: z.string().optional(),
  vnp_CardType: z.string().optional(),
  vnp_OrderInfo: z.string(),
  vnp_PayDate: VnpayDateTime.optional(),
  vnp_ResponseCode: z.string().min(1),
  vnp_TransactionNo: z.string().min(1),
  vnp_TransactionStatus: z.string().min(1),
  vnp_TxnRef: z.string().min(1),
});
export type VnpayIpnQuery = z.infer<typeof VnpayIpnQuery>;

/** VNPay reads the JSON body of a 200, never the status, so every outcome is a 200. */
const VNPAY_REPLIES: Readonly<Record<Outcome, { RspCode: string; Message: string }>> = {
  accepted: { RspCode: '00', Message: 'Confirm Success' },
  duplicate: { RspCode: '02', Message: 'Order already confirmed' },
  already_confirmed: { RspCode: '02', Message: 'Order already confirmed' },
  order_not_found: { RspCode: '01', Message: 'Order not found' },
  invalid_amount: { RspCode: '04', Message: 'Invalid amount' },
  invalid_signature: { RspCode: '97', Message: 'Invalid signature' },
  malformed: { RspCode: '99', Message: 'Unknown error' },
  error: { RspCode: '99', Message: 'Unknown error' },
};

export const vnpayAdapter: BankAdapter = {
  provider: 'vnpay',
  verify: verifyVnpay,
  parse: (req) =>
    parseWith(VnpayIpnQuery, req.query, (query) => ({
      externalId: query.vnp_TransactionNo,
      amountVnd: query.vnp_Amount,
      direction: 'in',
      accountNumber: '',
      virtualAccount: null,
      description: query.vnp_OrderInfo,
      paymentCodeHint: query.vnp_TxnRef,
      occurredAt: query.vnp_PayDate ?? null,
      bankReference: blankToNull(query.vnp_BankTranNo),
      payerName: null,
      succeeded: query.vnp_ResponseCode === '00' && query.vnp_TransactionStatus === '00',
    })),
  respond: (outcome) => ({ status: 200, body: VNPAY_REPLIES[outcome] }),
};

/** The simulator's terminal code; an IPN names the merchant terminal, not the school's account. */
const SIMULATOR_TMN_CODE = 'SIMTMN01';

/** Query values are decoded, as a web framework hands them to a route. */
export function signVnpay(transfer: SimTransfer, hashSecret: string, _now: Date): SignedRequest {
  const amountHundredths = transfer.amountVnd * 100;
  if (!Number.isSafeInteger(amountHundredths) || amountHundredths <= 0) {
    throw new RangeError('VNPay amounts must be positive whole dong within the safe integer range when multiplied by 100');
  }
  const query: Record<string, string> = {
    vnp_Amount: String(amountHundredths),
    vnp_BankCode: 'NCB',
    vnp_BankTranNo: transfer.bankReference ?? `VNP${transfer.externalId}`,
    vnp_CardType: 'ATM',
    vnp_OrderInfo: transfer.description,
    vnp_PayDate: formatVietnamLocal(transfer.occurredAt).replace(/[- :]/g, ''),
    vnp_ResponseCode: '00',
    vnp_TmnCode: SIMULATOR_TMN_CODE,
    vnp_TransactionNo: transfer.externalId,
    vnp_TransactionStatus: '00',
    vnp_TxnRef: transfer.paymentCode ?? transfer.externalId,
  };
  query.vnp_SecureHashType = 'HmacSHA512';
  query.vnp_SecureHash = vnpayDigest(hashSecret, query).toString('hex');
  return { method: 'GET', headers: {}, body: null, query };
}
