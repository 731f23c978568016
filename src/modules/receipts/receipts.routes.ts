import type { Knex } from 'knex';
import { z } from 'zod';
import type { RouteDef } from '../../http/routes';
import { parseParams } from '../../http/validate';
import { renderReceiptPage } from './receipt-page';
import { lookUpReceipt, receiptPdf } from './receipts.service';

// Any string: a malformed code gets the same 404 as an unknown one (the service checks the shape).
const LookupParams = z.object({ lookup_code: z.string().max(100) }).strict();

/** The public lookup of a receipt by its code: page, PDF and signed data. Nothing else is public. */
export function receiptRoutes(deps: { db: Knex; publicBaseUrl: string }): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/receipts/:lookup_code',
      auth: 'public',
      handler: async (req, res) => {
        const { lookup_code } = parseParams(LookupParams, req);
        const found = await lookUpReceipt(deps, lookup_code);
        res.set('cache-control', 'no-store').type('html').send(renderReceiptPage(found));
      },
    },
    {
      method: 'get',
      path: '/receipts/:lookup_code/pdf',
      auth: 'public',
      handler: async (req, res) => {
        const { lookup_code } = parseParams(LookupParams, req);
        const found = await lookUpReceipt(deps, lookup_code);
        const pdf = await receiptPdf(found);
        const c = found.receipt.content;
        res.set('cache-control', 'no-store').set('content-disposition', `inline; filename="bien-lai-${c.symbol}-${c.number}.pdf"`).type('application/pdf').send(pdf);
      },
    },
    {
      method: 'get',
      path: '/receipts/:lookup_code/json',
      auth: 'public',
      handler: async (req, res) => {
        const { lookup_code } = parseParams(LookupParams, req);
        const found = await lookUpReceipt(deps, lookup_code);
        res.set('cache-control', 'no-store').json({
          content: found.receipt.content,
          status: found.receipt.cancelled_at ? 'cancelled' : 'issued',
          cancel_reason: found.receipt.cancel_reason,
          signature: { algorithm: 'Ed25519', encoding: 'base64', value: found.receipt.signature, signed_data: 'canonical JSON of content (keys sorted, no whitespace, UTF-8)', public_key_pem: found.publicKeyPem, valid: found.signatureValid },
        });
      },
    },
  ];
}
