import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import { cols, unnestInsert } from '../../db/unnest';
import { newId } from '../../lib/ids';
import { parseVnd } from '../../lib/money';

/**
 * The double-entry ledger (DESIGN.md 3). Accounts are (kind, key) within a school:
 * bank_clearing per collection account, receivable per student, revenue per fee item, credit per
 * student, suspense per school (key ''). Debits are positive, credits negative; every journal sums
 * to zero, which the code checks before writing and a trigger checks again for every statement.
 */
export type AccountKind = 'bank_clearing' | 'receivable' | 'revenue' | 'credit' | 'suspense';
export type JournalKind = 'invoice_issued' | 'invoice_voided' | 'payment_received' | 'credit_applied' | 'suspense_attributed' | 'payment_reversed' | 'credit_note' | 'payment_corrected' | 'credit_refunded';

export interface EntryInput {
  accountKind: AccountKind;
  accountKey: string;
  amountVnd: number;
}

export interface JournalInput {
  schoolId: string;
  kind: JournalKind;
  referenceType: string;
  referenceId: string;
  memo?: string;
  at: Date;
  entries: EntryInput[];
}

export class UnbalancedJournalError extends Error {}

export const JOURNAL_COLUMNS = cols('school_id text, id text, kind text, reference_type text, reference_id text, memo text, posted_at timestamptz');
export const ENTRY_COLUMNS = cols('school_id text, journal_id text, entry_no smallint, account_kind text, account_key text, amount_vnd bigint');

/** Zero entries are dropped; what remains must be whole dong and sum to zero. */
function normalizedEntries(journal: JournalInput): EntryInput[] {
  const entries = journal.entries.filter((e) => e.amountVnd !== 0);
  for (const e of entries) if (!Number.isSafeInteger(e.amountVnd)) throw new UnbalancedJournalError(`entry amount ${e.amountVnd} is not whole dong`);
  const sum = entries.reduce((s, e) => s + e.amountVnd, 0);
  if (sum !== 0) throw new UnbalancedJournalError(`journal ${journal.kind} ${journal.referenceId} sums to ${sum}, not 0`);
  return entries;
}

export interface JournalRows {
  journals: { school_id: string; id: string; kind: JournalKind; reference_type: string; reference_id: string; memo: string | null; posted_at: Date }[];
  entries: { school_id: string; journal_id: string; entry_no: number; account_kind: AccountKind; account_key: string; amount_vnd: number }[];
}

/**
 * The rows of journals, checked (whole dong, summing to zero) and given their ids here: for
 * postJournals, and for a caller that writes new journals in the same statement as the rows they
 * reference. The trigger checks the sums again.
 */
export function journalRows(journals: JournalInput[]): JournalRows {
  const rows: JournalRows = { journals: [], entries: [] };
  for (const j of journals) {
    const entries = normalizedEntries(j);
    if (entries.length === 0) continue;
    const id = newId('jnl');
    rows.journals.push({ school_id: j.schoolId, id, kind: j.kind, reference_type: j.referenceType, reference_id: j.referenceId, memo: j.memo ?? null, posted_at: j.at });
    entries.forEach((e, n) => rows.entries.push({ school_id: j.schoolId, journal_id: id, entry_no: n + 1, account_kind: e.accountKind, account_key: e.accountKey, amount_vnd: e.amountVnd }));
  }
  return rows;
}

/**
 * Posts journals set-based inside the caller's transaction. A journal already posted for the same
 * (kind, reference) is skipped, so posting is idempotent. Returns how many were new.
 */
export async function postJournals(trx: Knex.Transaction, journals: JournalInput[]): Promise<number> {
  const rows = journalRows(journals);
  if (rows.journals.length === 0) return 0;
  const insert = unnestInsert('journals', JOURNAL_COLUMNS, rows.journals);
  const inserted = await trx.raw<{ rows: { id: string }[] }>(`${insert.sql} ON CONFLICT (school_id, kind, reference_type, reference_id) DO NOTHING RETURNING id`, insert.bindings);
  const fresh = new Set(inserted.rows.map((r) => r.id));
  const entries = rows.entries.filter((e) => fresh.has(e.journal_id));
  if (entries.length > 0) {
    const entriesInsert = unnestInsert('ledger_entries', ENTRY_COLUMNS, entries);
    await trx.raw(entriesInsert.sql, entriesInsert.bindings);
  }
  return inserted.rows.length;
}

/** The balance of one account (debits minus credits). */
export async function accountBalance(db: Db, schoolId: string, kind: AccountKind, key: string): Promise<number> {
  const [row] = await db('ledger_entries').where({ school_id: schoolId, account_kind: kind, account_key: key }).sum<{ sum: string | null }[]>('amount_vnd as sum');
  return parseVnd(row?.sum ?? 0);
}

/**
 * The ledger's invariants, for tests and operators: every journal sums to zero; each student's
 * receivable equals what their issued, unpaid invoices still owe; no credit balance is negative
 * (credit is a liability, so its balance is zero or below in debit-positive terms).
 */
export async function findLedgerViolations(db: Db, schoolId?: string): Promise<string[]> {
  const scope = schoolId ? 'AND x.school_id = ?' : '';
  const bind = schoolId ? [schoolId] : [];
  const unbalanced = await db.raw<{ rows: { journal_id: string; sum: string }[] }>(
    `SELECT x.journal_id, sum(x.amount_vnd) AS sum FROM ledger_entries x WHERE true ${scope} GROUP BY x.school_id, x.journal_id HAVING sum(x.amount_vnd) <> 0`,
    bind,
  );
  const receivables = await db.raw<{ rows: { school_id: string; person_id: string; ledger: string; invoices: string }[] }>(
    `WITH ledger AS (
       SELECT x.school_id, x.account_key AS person_id, sum(x.amount_vnd) AS amount FROM ledger_entries x
       WHERE x.account_kind = 'receivable' ${scope} GROUP BY 1, 2),
     owed AS (
       SELECT x.school_id, x.person_id, sum(x.total_vnd - x.credited_vnd - x.paid_vnd) AS amount FROM invoices x
       WHERE x.status IN ('open', 'partially_paid', 'paid') ${scope} GROUP BY 1, 2)
     SELECT coalesce(l.school_id, o.school_id) AS school_id, coalesce(l.person_id, o.person_id) AS person_id,
            coalesce(l.amount, 0) AS ledger, coalesce(o.amount, 0) AS invoices
     FROM ledger l FULL JOIN owed o ON o.school_id = l.school_id AND o.person_id = l.person_id
     WHERE coalesce(l.amount, 0) <> coalesce(o.amount, 0)`,
    [...bind, ...bind],
  );
  const negativeCredit = await db.raw<{ rows: { account_key: string; sum: string }[] }>(
    `SELECT x.account_key, sum(x.amount_vnd) AS sum FROM ledger_entries x WHERE x.account_kind = 'credit' ${scope} GROUP BY x.school_id, x.account_key HAVING sum(x.amount_vnd) > 0`,
    bind,
  );
  return [
    ...unbalanced.rows.map((r) => `journal ${r.journal_id} sums to ${r.sum}`),
    ...receivables.rows.map((r) => `receivable of ${r.person_id} is ${r.ledger} in the ledger but ${r.invoices} on invoices`),
    ...negativeCredit.rows.map((r) => `credit of ${r.account_key} is negative (${r.sum})`),
  ];
}
