import type { Db } from '../../db/knex';
import { findBundleCodes, isValidBundleCode } from '../../lib/payment-code';
import type { EntryInput } from '../ledger/ledger.service';
import { namedFirst, type OpenInvoice } from './payments.service';

/**
 * The bank-callback side of combined payments (payment bundles), kept apart from the hot path in
 * bank-events.service.ts, which calls in only when a transfer carries a code of the bundle
 * namespace (`findBundleCodes`; no such code, no query).
 *
 * The invariants are the callback path's own, unchanged: one bank event is one payment (`UNIQUE
 * (school_id, bank_event_id)` and the bank-reference index untouched), the payment's journal
 * balances, and invoices' paid amounts are derived from allocation rows in the same statement.
 * A bundle's payment differs only in where its money goes: across several students' invoices
 * (each student's receivable credited with what their invoices got), in the plan's order.
 */
export interface BundlePlan {
  bundleId: string;
  code: string;
  /** The plan's first child: the payment is recorded for them, and the surplus is their credit. */
  ownerId: string;
  /** The students in plan order (the owner first). */
  students: string[];
  /** The planned invoices in plan order. */
  invoiceIds: string[];
}

interface Transfer {
  description: string;
  paymentCodeHint?: string | null;
}

/** The bundle codes a transfer names: the provider's hint if it is one, then every one in the description. */
export function bundleCodesIn(t: Transfer): string[] {
  const hint = t.paymentCodeHint && isValidBundleCode(t.paymentCodeHint) ? [t.paymentCodeHint.toUpperCase()] : [];
  return [...new Set([...hint, ...findBundleCodes(t.description)])];
}

/** Bundles by `school|code`, with their plans; one query, and none when no candidate was given. */
export async function lookUpBundles(db: Db, candidates: { schoolId: string; code: string }[]): Promise<Map<string, BundlePlan>> {
  const found = new Map<string, BundlePlan>();
  if (candidates.length === 0) return found;
  const { rows } = await db.raw<{ rows: { id: string; school_id: string; code: string; owner_person_id: string; invoice_id: string; person_id: string }[] }>(
    `SELECT b.id, b.school_id, b.code, b.owner_person_id, i.invoice_id, i.person_id
     FROM payment_bundles b
     JOIN (SELECT DISTINCT * FROM unnest(?::text[], ?::text[])) AS t(school_id, code) ON b.school_id = t.school_id AND b.code = t.code
     JOIN payment_bundle_items i ON i.school_id = b.school_id AND i.bundle_id = b.id
     ORDER BY b.school_id, b.id, i.position`,
    [candidates.map((c) => c.schoolId), candidates.map((c) => c.code)],
  );
  for (const r of rows) {
    const key = `${r.school_id}|${r.code}`;
    const plan = found.get(key) ?? { bundleId: r.id, code: r.code, ownerId: r.owner_person_id, students: [], invoiceIds: [] };
    if (!plan.students.includes(r.person_id)) plan.students.push(r.person_id);
    plan.invoiceIds.push(r.invoice_id);
    found.set(key, plan);
  }
  return found;
}

/**
 * The order a bundle's money is spread in: the planned invoices first, in plan order (each up to
 * what it still owes now: one paid meanwhile is skipped), then the same students' other open
 * invoices (student by student in plan order, oldest due first), so no credit is left beside an
 * open invoice; what is left after that is the owner's credit. `openOf` holds the locked open
 * invoices per `school|person`; the objects are shared, so payments of one batch see each other.
 */
export function bundleOrder(schoolId: string, plan: BundlePlan, openOf: Map<string, OpenInvoice[]>): OpenInvoice[] {
  return namedFirst(plan.students.flatMap((p) => openOf.get(`${schoolId}|${p}`) ?? []), plan.invoiceIds);
}

/** The receivable entries of a bundle payment's journal: each student is credited with what their invoices got. */
export function bundleReceivables(split: { invoiceId: string; amountVnd: number }[], order: OpenInvoice[]): EntryInput[] {
  const personOf = new Map(order.map((o) => [o.id, o.person_id]));
  const perStudent = new Map<string, number>();
  for (const a of split) {
    const person = personOf.get(a.invoiceId)!;
    perStudent.set(person, (perStudent.get(person) ?? 0) + a.amountVnd);
  }
  return [...perStudent].map(([person, vnd]) => ({ accountKind: 'receivable' as const, accountKey: person, amountVnd: -vnd }));
}
