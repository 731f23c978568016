import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { AppError, NotFoundError } from '../../http/errors';
import type { RouteDef } from '../../http/routes';
import { parseBody } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { MAX_AMOUNT_VND } from '../../modules/fees/fees.schemas';
import { SIGNERS } from './index';

/**
 * A development bank that plays a parent paying: given a payment code and an amount, it sends a
 * correctly signed notification in the chosen provider's wire format to this service's callback
 * URL, over HTTP, exactly as the provider would. Mounted only with the simulators (development,
 * tests); it reads the endpoint's secret from the database because it plays the provider, who
 * holds that secret.
 */
const TransferBody = z
  .object({
    provider: z.enum(['sepay', 'casso', 'vnpay', 'direct']),
    payment_code: z.string().regex(/^[0-9A-Za-z]{10}$/, 'must be a 10-symbol payment code'),
    amount_vnd: z.number().int().min(1).max(MAX_AMOUNT_VND),
    description: z.string().max(200).optional(),
  })
  .strict();

export function bankSimulatorRoutes(deps: { db: Knex; clock: Clock; publicBaseUrl: string }): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/sim/bank/transfers',
      auth: 'public',
      handler: async (req, res) => {
        const body = parseBody(TransferBody, req);
        const code = body.payment_code.toUpperCase();
        const invoice = await deps.db('invoices').where({ payment_code: code }).whereNot({ status: 'draft' }).first<{ school_id: string } | undefined>('school_id');
        if (!invoice) throw new NotFoundError('INVOICE_NOT_FOUND', 'No issued invoice has this payment code.', 'payment_code');
        const endpoint = await deps.db('bank_endpoints as e')
          .join('collection_accounts as a', (j) => j.on('a.school_id', '=', 'e.school_id').andOn('a.id', '=', 'e.collection_account_id'))
          .where({ 'e.school_id': invoice.school_id, 'e.provider': body.provider })
          .first<{ id: string; secret: string; account_number: string } | undefined>('e.id', 'e.secret', 'a.account_number');
        if (!endpoint) throw new AppError(409, 'conflict_error', 'BANK_ENDPOINT_MISSING', `The school has no ${body.provider} endpoint (POST /v1/schools/{school_id}/bank-endpoints).`, { param: 'provider' });

        const now = deps.clock.now();
        const signed = SIGNERS[body.provider](
          {
            externalId: `SIM${now.getTime()}${randomBytes(3).toString('hex').toUpperCase()}`,
            amountVnd: body.amount_vnd,
            accountNumber: endpoint.account_number,
            description: body.description ?? `NGUYEN VAN A chuyen tien HP ${code}`,
            paymentCode: code,
            occurredAt: now,
            bankReference: `FT${now.getTime()}`,
            payerName: 'NGUYEN VAN A',
          },
          endpoint.secret,
          now,
        );
        const url = new URL(`${deps.publicBaseUrl}/callbacks/${body.provider}/${endpoint.id}`);
        for (const [k, v] of Object.entries(signed.query)) url.searchParams.set(k, v);
        const reply = await fetch(url, { method: signed.method, headers: signed.headers, body: signed.method === 'POST' ? signed.body : undefined, signal: AbortSignal.timeout(10_000) });
        res.json({ delivered_to: url.pathname, reply_status: reply.status, reply_body: await reply.json().catch(() => null) });
      },
    },
  ];
}
