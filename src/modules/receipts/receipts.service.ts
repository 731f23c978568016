import type { Knex } from 'knex';
import { NotFoundError } from '../../http/errors';
import { renderReceiptPdf } from './receipts.pdf';
import * as repo from './receipts.repository';
import { verifyContent } from './receipt-signing';

/** Public lookup: whoever holds a receipt's lookup code sees that receipt and nothing else. */
export interface LookedUpReceipt {
  receipt: repo.ReceiptView;
  publicKeyPem: string;
  signatureValid: boolean;
  lookupUrl: string;
}

// One answer for a malformed code and an unknown one, so a lookup never tells whether a code exists.
const notFound = () => new NotFoundError('RECEIPT_NOT_FOUND', 'No receipt has this lookup code.', 'lookup_code');

/** The receipt with this lookup code, its school's public key and whether its signature holds. */
export async function lookUpReceipt(deps: { db: Knex; publicBaseUrl: string }, lookupCode: string): Promise<LookedUpReceipt> {
  if (!/^[0-9A-Z]{16}$/.test(lookupCode)) throw notFound();
  const receipt = await repo.receiptsWithStatus(deps.db).where('r.lookup_code', lookupCode).first<repo.ReceiptView | undefined>();
  if (!receipt) throw notFound();
  const key = await deps.db('receipt_signing_keys').where({ school_id: receipt.school_id, id: receipt.signing_key_id }).first<{ public_key_pem: string }>('public_key_pem');
  return { receipt, publicKeyPem: key.public_key_pem, signatureValid: verifyContent(receipt.content, receipt.signature, key.public_key_pem), lookupUrl: receiptLookupUrl(deps.publicBaseUrl, lookupCode) };
}

export const receiptLookupUrl = (publicBaseUrl: string, lookupCode: string) => `${publicBaseUrl}/receipts/${lookupCode}`;

/** The receipt's PDF, rendered from its signed content. */
export async function receiptPdf(found: LookedUpReceipt): Promise<Buffer> {
  return renderReceiptPdf({ content: found.receipt.content, signature: found.receipt.signature, lookupUrl: found.lookupUrl, cancelled: found.receipt.cancelled_at !== null });
}
