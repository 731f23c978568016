import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { AppError, NotFoundError } from '../../http/errors';
import type { RouteDef } from '../../http/routes';
import { parseBody } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { isValidBundleCode } from '../../lib/payment-code';
import { MAX_AMOUNT_VND } from '../../modules/fees/fees.schemas';
import { type StatementApiSettings, verifyStatementRequest } from '../statements/bank-statement-api';
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
    /** false: the bank books the transfer but its notification is lost (for reconciliation). */
    callback: z.boolean().default(true),
  })
  .strict();

const StatementQuery = z.object({ account_number: z.string().regex(/^[0-9A-Za-z]{1,19}$/), date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) }).strict();

/**
 * The simulated bank's own books live in the sim_bank schema (the outside system's state, apart
 * from our tables): every transfer it plays is booked there first, then notified, and its
 * statement API (GET /sim/bank/statements) serves those bookings for a day, as a bank would.
 */
export function bankSimulatorRoutes(deps: { db: Knex; clock: Clock; publicBaseUrl: string; statementApi: StatementApiSettings }): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/sim/bank/transfers',
      auth: 'public',
      handler: async (req, res) => {
        const body = parseBody(TransferBody, req);
        const code = body.payment_code.toUpperCase();
        // An invoice's code, or a combined payment's (its school by the code's prefix).
        const invoice = isValidBundleCode(code)
          ? await deps.db('payment_bundles as b').join('schools as s', 's.id', 'b.school_id').where({ 's.payment_code_prefix': code.slice(0, 3), 'b.code': code }).first<{ school_id: string } | undefined>('b.school_id')
          : await deps.db('invoices').where({ payment_code: code }).whereNot({ status: 'draft' }).first<{ school_id: string } | undefined>('school_id');
        if (!invoice) throw new NotFoundError('INVOICE_NOT_FOUND', 'No issued invoice has this payment code.', 'payment_code');
        const endpoint = await deps.db('bank_endpoints as e')
          .join('collection_accounts as a', (j) => j.on('a.school_id', '=', 'e.school_id').andOn('a.id', '=', 'e.collection_account_id'))
          .where({ 'e.school_id': invoice.school_id, 'e.provider': body.provider })
          .first<{ id: string; secret: string; account_number: string } | undefined>('e.id', 'e.secret', 'a.account_number');
        if (!endpoint) throw new AppError(409, 'conflict_error', 'BANK_ENDPOINT_MISSING', `The school has no ${body.provider} endpoint (POST /v1/schools/{school_id}/bank-endpoints).`, { param: 'provider' });

        const now = deps.clock.now();
        const transfer = {
          externalId: `SIM${now.getTime()}${randomBytes(3).toString('hex').toUpperCase()}`,
          amountVnd: body.amount_vnd,
          accountNumber: endpoint.account_number,
          description: body.description ?? `NGUYEN VAN A chuyen tien HP ${code}`,
          paymentCode: code,
          occurredAt: now,
          bankReference: `FT${now.getTime()}${randomBytes(3).toString('hex').toUpperCase()}`,
          payerName: 'NGUYEN VAN A',
        };
        // The bank books the transfer before it notifies anyone: its statement shows it either way.
        await deps.db('sim_bank.transactions').insert({
          account_number: endpoint.account_number,
          bank_transaction_id: transfer.bankReference,
          booked_at: now,
          direction: 'in',
          amount_vnd: transfer.amountVnd,
          description: transfer.description,
          counterparty_name: transfer.payerName,
          counterparty_account: '0123456789',
        });
        if (!body.callback) {
          res.json({ bank_transaction_id: transfer.bankReference, delivered_to: null, reply_status: null, reply_body: null });
          return;
        }
        const signed = SIGNERS[body.provider](transfer, endpoint.secret, now);
        const url = new URL(`${deps.publicBaseUrl}/callbacks/${body.provider}/${endpoint.id}`);
        for (const [k, v] of Object.entries(signed.query)) url.searchParams.set(k, v);
        const reply = await fetch(url, { method: signed.method, headers: signed.headers, body: signed.method === 'POST' ? signed.body : undefined, signal: AbortSignal.timeout(10_000) });
        res.json({ bank_transaction_id: transfer.bankReference, delivered_to: url.pathname, reply_status: reply.status, reply_body: await reply.json().catch(() => null) });
      },
    },
    {
      method: 'get',
      path: '/sim/bank/statements',
      auth: 'public',
      handler: async (req, res) => {
        if (req.headers['x-api-key-id'] !== deps.statementApi.keyId || !verifyStatementRequest(deps.statementApi.secret, 'GET', req.originalUrl, req.headers as Record<string, string | undefined>, deps.clock.now())) {
          throw new AppError(401, 'authentication_error', 'BANK_SIGNATURE_INVALID', 'The request is not signed with a known key.');
        }
        const q = StatementQuery.parse(req.query);
        const dayStart = new Date(`${q.date}T00:00:00+07:00`);
        const dayEnd = new Date(dayStart.getTime() + 86_400_000);
        const signed = (alias: string) => `CASE WHEN ${alias}.direction = 'in' THEN ${alias}.amount_vnd ELSE -${alias}.amount_vnd END`;
        const [before] = await deps.db('sim_bank.transactions as t').where('t.account_number', q.account_number).where('t.booked_at', '<', dayStart).select(deps.db.raw(`coalesce(sum(${signed('t')}), 0)::bigint AS balance`));
        const rows = await deps.db('sim_bank.transactions').where('account_number', q.account_number).where('booked_at', '>=', dayStart).where('booked_at', '<', dayEnd).orderBy(['booked_at', 'bank_transaction_id']);
        const opening = Number((before as { balance: string }).balance);
        const closing = rows.reduce((sum, r) => sum + (r.direction === 'in' ? 1 : -1) * Number(r.amount_vnd), opening);
        res.json({
          account_number: q.account_number,
          date: q.date,
          opening_balance_vnd: opening,
          closing_balance_vnd: closing,
          transactions: rows.map((r) => ({
            transaction_id: r.bank_transaction_id,
            booked_at: new Date(r.booked_at).toISOString(),
            direction: r.direction,
            amount_vnd: Number(r.amount_vnd),
            description: r.description,
            virtual_account: r.virtual_account,
            counterparty_name: r.counterparty_name,
            counterparty_account: r.counterparty_account,
          })),
        });
      },
    },
  ];
}
