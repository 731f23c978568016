import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { IdParam, PaginationQuery, parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import type { InboundRequest, Provider } from '../../integrations/banks/bank-adapter';
import { outcomeOf } from '../../integrations/banks';
import { AmountVnd } from '../fees/fees.schemas';
import { BankInbox } from './bank-inbox';
import { handleBillPayment } from './bill-payment.service';
import { type CorrectionResult, correctPayment } from './corrections.service';
import { type CreditNoteRow, createCreditNote, listCreditNotes } from './credit-notes.service';
import { assignVirtualAccount, listVirtualAccounts, type VirtualAccountRow } from './virtual-accounts.service';
import { PersonalIdString } from '../students/students.schemas';
import * as svc from './payments.service';
import { requestReceiptIssuing } from '../receipts/receipt-issuing.service';

const EndpointParams = z.object({ endpoint_id: z.string().max(100) }).strict();
const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
const ListQuery = PaginationQuery.strict();
const EndpointBody = z.object({ provider: z.enum(['sepay', 'casso', 'vnpay', 'direct', 'billpay']), collection_account_id: IdParam('acct') }).strict();
const ExceptionParams = z.object({ school_id: IdParam('sch'), exception_id: IdParam('exc') }).strict();
const PaymentCode = z.string().regex(/^[0-9A-Za-z]{10}$/, 'must be a 10-symbol payment code');
const ManualPaymentBody = z.object({ payment_code: PaymentCode, amount_vnd: AmountVnd.min(1), reason: z.string().trim().min(3).max(500) }).strict();
const PaymentParams = z.object({ school_id: IdParam('sch'), payment_id: IdParam('pay') }).strict();
const CorrectionBody = z.object({ payment_code: PaymentCode, reason: z.string().trim().min(3).max(500) }).strict();
const VirtualAccountBody = z.object({ collection_account_id: IdParam('acct'), personal_id: PersonalIdString, number: z.string().regex(/^[0-9A-Z]{4,19}$/, 'must be 4 to 19 digits or capital letters') }).strict();
const InvoiceParams = z.object({ invoice_id: IdParam('inv') }).strict();
const CreditNoteBody = z.object({ amount_vnd: AmountVnd.min(1), reason: z.string().trim().min(3).max(500) }).strict();
const ResolveBody = z.object({ payment_code: PaymentCode.optional(), reason: z.string().trim().min(3).max(500) }).strict();

function inbound(req: Request): InboundRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.query as Record<string, unknown>)) if (typeof value === 'string') query[name] = value;
  return { headers, rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), query };
}

function renderPayment(p: Record<string, unknown>) {
  return {
    id: p.id,
    school_id: p.school_id,
    provider: p.provider,
    student_id: p.person_id ?? null,
    payment_code: p.payment_code ?? null,
    amount_vnd: parseVnd(p.amount_vnd as string),
    status: p.status,
    occurred_at: p.occurred_at ? (p.occurred_at as Date).toISOString() : null,
    recorded_at: (p.recorded_at as Date).toISOString(),
  };
}

function renderException(e: Record<string, unknown>) {
  return {
    id: e.id,
    school_id: e.school_id,
    kind: e.kind,
    bank_event_id: e.bank_event_id ?? null,
    payment_id: e.payment_id ?? null,
    amount_vnd: parseVnd(e.amount_vnd as string),
    details: e.details,
    status: e.status,
    created_at: (e.created_at as Date).toISOString(),
    resolved_at: e.resolved_at ? (e.resolved_at as Date).toISOString() : null,
    resolution: e.resolution ?? null,
  };
}

function renderVirtualAccount(v: VirtualAccountRow) {
  return { id: v.id, school_id: v.school_id, collection_account_id: v.collection_account_id, number: v.number, student_id: v.person_id, created_by: v.created_by, created_at: v.created_at.toISOString() };
}

function renderCorrection(c: CorrectionResult) {
  const { from_person_id, to_person_id, created_at, ...rest } = c;
  return { ...rest, from_student_id: from_person_id, to_student_id: to_person_id, created_at: created_at.toISOString() };
}

function renderCreditNote(n: CreditNoteRow & { lines: { fee_item_id: string; amount_vnd: string }[] }) {
  return {
    id: n.id,
    school_id: n.school_id,
    invoice_id: n.invoice_id,
    student_id: n.person_id,
    number: `${n.series}/${String(n.number).padStart(6, '0')}`,
    amount_vnd: parseVnd(n.amount_vnd),
    pre_payment_vnd: parseVnd(n.pre_payment_vnd),
    post_payment_vnd: parseVnd(n.post_payment_vnd),
    post_payment_to: n.post_payment_to,
    lines: n.lines.map((l) => ({ fee_item_id: l.fee_item_id, amount_vnd: parseVnd(l.amount_vnd) })),
    reason: n.reason,
    created_by: n.created_by,
    created_at: n.created_at.toISOString(),
  };
}

export function paymentRoutes(deps: { db: Knex; clock: Clock; logger: Logger }): RouteDef[] {
  const inbox = new BankInbox(deps);
  const callback = (provider: Provider): RouteDef['handler'] => async (req: Request, res: Response) => {
    const { endpoint_id } = parseParams(EndpointParams, req);
    const reply = await inbox.submit({ provider, endpointId: endpoint_id, req: inbound(req) });
    // A stored reply of an earlier delivery carries no outcome: this delivery is its replay.
    res.locals.callbackOutcome = outcomeOf(reply) ?? (reply.status === 409 ? 'amount_mismatch' : 'replayed');
    res.status(reply.status).json(reply.body);
    // After commit and after the reply: receipts are issued in their own transaction (issue 5).
    requestReceiptIssuing(deps);
  };
  return [
    { method: 'post', path: '/callbacks/sepay/:endpoint_id', auth: 'public', body: 'raw', handler: callback('sepay') },
    { method: 'post', path: '/callbacks/casso/:endpoint_id', auth: 'public', body: 'raw', handler: callback('casso') },
    { method: 'get', path: '/callbacks/vnpay/:endpoint_id', auth: 'public', handler: callback('vnpay') },
    { method: 'post', path: '/callbacks/direct/:endpoint_id', auth: 'public', body: 'raw', handler: callback('direct') },
    ...(['inquiry', 'payment', 'reversal'] as const).map((action): RouteDef => ({
      method: 'post',
      path: `/billpay/:endpoint_id/${action === 'inquiry' ? 'inquiries' : action === 'payment' ? 'payments' : 'reversals'}`,
      auth: 'public',
      body: 'raw',
      handler: async (req, res) => {
        const { endpoint_id } = parseParams(EndpointParams, req);
        const result = await handleBillPayment(deps, endpoint_id, action, inbound(req));
        res.locals.callbackOutcome = `${action}_${(result.body as { result_code?: string }).result_code ?? result.status}`;
        res.status(result.status).json(result.body);
        if (action !== 'inquiry') requestReceiptIssuing(deps);
      },
    })),
    {
      method: 'post',
      path: '/v1/schools/:school_id/bank-endpoints',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(EndpointBody, req);
        const row = await svc.createBankEndpoint({ db: deps.db, clock: deps.clock, principal: principalOf(res) }, school_id, { provider: b.provider, collectionAccountId: b.collection_account_id });
        res.status(201).json({ id: row.id, school_id: row.school_id, provider: row.provider, collection_account_id: row.collection_account_id, secret: row.secret, callback_path: row.provider === 'billpay' ? `/billpay/${row.id}` : `/callbacks/${row.provider}/${row.id}`, created_at: row.created_at.toISOString() });
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/payments',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListQuery, req);
        const page = await svc.listPayments({ db: deps.db, principal: principalOf(res) }, school_id, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(renderPayment), has_more: page.has_more });
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/payments',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(ManualPaymentBody, req);
        const payment = await svc.recordManualPayment({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string }, school_id, { paymentCode: b.payment_code, amountVnd: b.amount_vnd, reason: b.reason });
        res.status(201).json(renderPayment(await deps.db('payments').where({ school_id, id: payment.id }).first()));
        requestReceiptIssuing(deps);
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/payment-exceptions/:exception_id/resolve',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, exception_id } = parseParams(ExceptionParams, req);
        const b = parseBody(ResolveBody, req);
        res.json(renderException(await svc.resolvePaymentException({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string }, school_id, exception_id, { paymentCode: b.payment_code, reason: b.reason })));
        requestReceiptIssuing(deps);
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/payments/:payment_id/corrections',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id, payment_id } = parseParams(PaymentParams, req);
        const b = parseBody(CorrectionBody, req);
        const c = await correctPayment({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string }, school_id, payment_id, { paymentCode: b.payment_code, reason: b.reason });
        res.status(201).json(renderCorrection(c));
        requestReceiptIssuing(deps);
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/virtual-accounts',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(VirtualAccountBody, req);
        const row = await assignVirtualAccount({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string }, school_id, { collectionAccountId: b.collection_account_id, personalId: b.personal_id, number: b.number });
        res.status(201).json(renderVirtualAccount(row));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/virtual-accounts',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListQuery, req);
        const page = await listVirtualAccounts({ db: deps.db, principal: principalOf(res) }, school_id, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(renderVirtualAccount), has_more: page.has_more });
      },
    },
    {
      method: 'post',
      path: '/v1/invoices/:invoice_id/credit-notes',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { invoice_id } = parseParams(InvoiceParams, req);
        const b = parseBody(CreditNoteBody, req);
        const note = await createCreditNote({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string }, invoice_id, { amountVnd: b.amount_vnd, reason: b.reason });
        res.status(201).json(renderCreditNote(note));
      },
    },
    {
      method: 'get',
      path: '/v1/invoices/:invoice_id/credit-notes',
      auth: 'user',
      handler: async (req, res) => {
        const { invoice_id } = parseParams(InvoiceParams, req);
        res.json({ data: (await listCreditNotes({ db: deps.db, principal: principalOf(res) }, invoice_id)).map(renderCreditNote), has_more: false });
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/payment-exceptions',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListQuery, req);
        const page = await svc.listPaymentExceptions({ db: deps.db, principal: principalOf(res) }, school_id, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(renderException), has_more: page.has_more });
      },
    },
  ];
}
