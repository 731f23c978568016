import type { Knex } from 'knex';
import { AppError, ConflictError, NotFoundError } from '../../http/errors';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { newBundleCode } from '../../lib/payment-code';
import { isUniqueViolation } from '../../lib/pg-errors';
import { encodeVietQr } from '../../lib/vietqr';
import type { Principal } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { findDefaultCollectionAccount } from '../schools/schools.service';

/**
 * Combined payments (issue 6): a guardian picks open invoices of their verified wards at one
 * school and gets one code and one VietQR for all of them, with the allocation plan shown before
 * paying. The bundle and its plan are insert-only: what is shown is what the callback follows
 * (payment-bundles.settlement.ts).
 *
 * The plan's order: children eldest first (date of birth, then id: the sibling rules' "child
 * number"), each child's invoices oldest due first (due date, number, id). Money that arrives is
 * spread in that order, each invoice up to what it still owes; an underpayment therefore pays the
 * eldest child's oldest invoice first and stops where the money does. An overpayment pays the same
 * children's other open invoices, then becomes the eldest child's credit (which pays their next
 * invoice when it is issued, or is refunded to a verified guardian).
 *
 * One bundle is one school: a bank transfer lands in one school's account, and the QR names that
 * account. Invoices of several schools are refused (422 `INVOICES_SPAN_SCHOOLS`, with the invoice
 * ids grouped by school in the details) rather than silently split into several bundles: the
 * parent has to make one transfer per school, and the app shows that by asking once per school.
 */
export interface BundleContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

export const MAX_BUNDLE_INVOICES = 50;

interface BundleRow {
  school_id: string;
  id: string;
  code: string;
  guardian_person_id: string;
  owner_person_id: string;
  total_vnd: string;
  created_at: Date;
}

export interface BundleView {
  bundle: BundleRow;
  school: { id: string; name: string };
  account: { bank_bin: string; account_number: string; account_name: string } | null;
  items: {
    position: number;
    invoice_id: string;
    person_id: string;
    full_name: string;
    planned_vnd: number;
    series: string | null;
    number: number | null;
    period_label: string;
    due_on: string;
    status: string;
    due_vnd: number;
  }[];
  payments: { id: string; amount_vnd: number; occurred_at: Date | null; recorded_at: Date }[];
}

interface CandidateInvoice {
  id: string;
  school_id: string;
  person_id: string;
  status: string;
  due_on: string;
  number: number | null;
  date_of_birth: string;
  due_vnd: string;
}

/** Creates a bundle over the given invoices of the caller's wards; answers its view (code, QR, plan). */
export async function createPaymentBundle(ctx: BundleContext, invoiceIds: string[]): Promise<BundleView> {
  const wards = ctx.principal.wards;
  const invoices = wards.length === 0 ? [] : await ctx.db('invoices as i')
    .join('people as s', 's.id', 'i.person_id')
    .whereIn('i.id', invoiceIds)
    .whereIn('i.person_id', wards)
    .whereNot('i.status', 'draft')
    .select<CandidateInvoice[]>('i.id', 'i.school_id', 'i.person_id', 'i.status', 'i.due_on', 'i.number', 's.date_of_birth', ctx.db.raw('i.total_vnd - i.credited_vnd - i.paid_vnd AS due_vnd'));
  // Another family's invoice, a draft, or no invoice at all: the same 404 (nothing to probe).
  const missing = invoiceIds.filter((id) => !invoices.some((i) => i.id === id));
  if (missing.length > 0) throw new AppError(404, 'not_found_error', 'INVOICE_NOT_FOUND', 'No such invoice among your students\' invoices.', { param: 'invoice_ids', details: missing.map((id) => ({ invoice_id: id })) });
  const closed = invoices.filter((i) => !['open', 'partially_paid'].includes(i.status) || parseVnd(i.due_vnd) <= 0);
  if (closed.length > 0) throw new ConflictError('INVOICE_NOT_PAYABLE', 'Only open invoices with something due can be paid together.', { param: 'invoice_ids', details: closed.map((i) => ({ invoice_id: i.id, status: i.status })) });
  const schools = [...new Set(invoices.map((i) => i.school_id))];
  if (schools.length > 1) {
    throw new AppError(422, 'invalid_request_error', 'INVOICES_SPAN_SCHOOLS', 'These invoices belong to several schools; each school is paid with its own transfer, so make one combined payment per school.', {
      param: 'invoice_ids',
      details: schools.map((s) => ({ school_id: s, invoice_ids: invoices.filter((i) => i.school_id === s).map((i) => i.id) })),
    });
  }
  const schoolId = schools[0]!;
  const account = await findDefaultCollectionAccount(ctx.db, schoolId);
  if (!account) throw new ConflictError('INVOICE_NOT_PAYABLE', 'The school has no collection account to pay into yet.', { param: 'invoice_ids' });

  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  const plan = [...invoices].sort((a, b) => cmp(a.date_of_birth, b.date_of_birth) || cmp(a.person_id, b.person_id) || cmp(a.due_on, b.due_on) || cmp(a.number ?? 0, b.number ?? 0) || cmp(a.id, b.id));
  const total = plan.reduce((sum, i) => sum + parseVnd(i.due_vnd), 0);
  const now = ctx.clock.now();
  const { payment_code_prefix: prefix } = await ctx.db('schools').where({ id: schoolId }).first<{ payment_code_prefix: string }>('payment_code_prefix');

  // A fresh code collides with one of the school's bundles about once in 10^8; draw again then.
  for (let attempt = 1; ; attempt++) {
    try {
      const id = await ctx.db.transaction(async (trx) => {
        const [bundle] = await trx('payment_bundles')
          .insert({ school_id: schoolId, code: newBundleCode(prefix), guardian_person_id: ctx.principal.personId, owner_person_id: plan[0]!.person_id, total_vnd: total, created_at: now })
          .returning<{ id: string }[]>('id');
        await trx('payment_bundle_items').insert(plan.map((i, n) => ({ school_id: schoolId, bundle_id: bundle!.id, position: n + 1, invoice_id: i.id, person_id: i.person_id, planned_vnd: parseVnd(i.due_vnd) })));
        await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'payment_bundle.created', subjectType: 'payment_bundle', subjectId: bundle!.id, details: { invoice_ids: plan.map((i) => i.id), total_vnd: total }, requestId: ctx.requestId, at: now });
        return bundle!.id;
      });
      return await loadBundleView(ctx, id);
    } catch (e) {
      if (attempt >= 5 || !isUniqueViolation(e, 'payment_bundles_school_id_code_key')) throw e;
    }
  }
}

/** A bundle the caller made, while every child in it is still their ward; else 404. */
export async function getPaymentBundle(ctx: BundleContext, bundleId: string): Promise<BundleView> {
  return loadBundleView(ctx, bundleId);
}

async function loadBundleView(ctx: BundleContext, bundleId: string): Promise<BundleView> {
  const bundle = await ctx.db('payment_bundles').where({ id: bundleId, guardian_person_id: ctx.principal.personId }).first<BundleRow | undefined>();
  const notFound = new NotFoundError('PAYMENT_BUNDLE_NOT_FOUND', 'No such combined payment of yours.', 'bundle_id');
  if (!bundle) throw notFound;
  const items = await ctx.db('payment_bundle_items as b')
    .join('invoices as i', (j) => j.on('i.school_id', '=', 'b.school_id').andOn('i.id', '=', 'b.invoice_id'))
    .join('people as s', 's.id', 'b.person_id')
    .where({ 'b.school_id': bundle.school_id, 'b.bundle_id': bundle.id })
    .orderBy('b.position')
    .select<(Omit<BundleView['items'][number], 'planned_vnd' | 'due_vnd'> & { planned_vnd: string; due_vnd: string })[]>(
      'b.position', 'b.invoice_id', 'b.person_id', 's.full_name', 'b.planned_vnd', 'i.series', 'i.number', 'i.period_label', 'i.due_on', 'i.status',
      ctx.db.raw(`CASE WHEN i.status IN ('open', 'partially_paid') THEN i.total_vnd - i.credited_vnd - i.paid_vnd ELSE 0 END AS due_vnd`),
    );
  // Guardianship can end (revoked, or the child turned 18): the bundle then closes to this guardian.
  if (items.some((i) => !ctx.principal.wards.includes(i.person_id))) throw notFound;
  const [school, account, payments] = await Promise.all([
    ctx.db('schools').where({ id: bundle.school_id }).first<{ id: string; name: string }>('id', 'name'),
    findDefaultCollectionAccount(ctx.db, bundle.school_id),
    // A bundle's payments are recorded for its owner under its code (payments_person_idx).
    ctx.db('payments').where({ school_id: bundle.school_id, person_id: bundle.owner_person_id, payment_code: bundle.code }).orderBy('recorded_at').select<{ id: string; amount_vnd: string; occurred_at: Date | null; recorded_at: Date }[]>('id', 'amount_vnd', 'occurred_at', 'recorded_at'),
  ]);
  return {
    bundle,
    school: school!,
    account: account ? { bank_bin: account.bank_bin, account_number: account.account_number, account_name: account.account_name } : null,
    items: items.map((i) => ({ ...i, planned_vnd: parseVnd(i.planned_vnd), due_vnd: parseVnd(i.due_vnd) })),
    payments: payments.map((p) => ({ ...p, amount_vnd: parseVnd(p.amount_vnd) })),
  };
}

/** What the bundle's invoices still ask now (the QR's amount): the total when nothing was paid yet. */
export function bundleDueVnd(view: BundleView): number {
  return view.items.reduce((sum, i) => sum + i.due_vnd, 0);
}

/**
 * The VietQR of a bundle with something due: the school's own account (never a child's virtual
 * account, which would attribute the money to that child alone), the amount still due, the bundle
 * code as bill number and `HP <code>` as purpose, as for an invoice.
 */
export function bundleVietQr(view: BundleView): string | null {
  const due = bundleDueVnd(view);
  if (due <= 0 || !view.account) return null;
  return encodeVietQr({ bankBin: view.account.bank_bin, accountNumber: view.account.account_number, amountVnd: due, billNumber: view.bundle.code, purpose: `HP ${view.bundle.code}` });
}
