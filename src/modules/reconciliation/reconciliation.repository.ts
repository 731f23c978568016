import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import { cols, unnestRows } from '../../db/unnest';

/**
 * Reconciliation's SQL. Matching is set-based: each tier is one INSERT ... SELECT over the day's
 * unmatched lines and the account's unmatched payments, so a day of 100,000 lines costs the same
 * dozen statements as a day of ten.
 */
export interface AccountRow {
  school_id: string;
  id: string;
  account_number: string;
}

const LINE_COLUMNS = cols(`school_id text, collection_account_id text, import_id text, booked_on date, booked_at timestamptz, direction text, amount_vnd bigint,
  bank_transaction_id text, description text, virtual_account text, counterparty_name text, counterparty_account text, balance_after_vnd bigint, raw jsonb,
  codes text, dedupe_key text, created_at timestamptz`);

/** Inserts lines (a line already stored under its dedupe key is skipped); keeps only codes that name an issued invoice or a combined payment of the school. Returns how many were new. */
export async function insertLines(trx: Knex.Transaction, rows: Record<string, unknown>[]): Promise<number> {
  if (rows.length === 0) return 0;
  let added = 0;
  for (let i = 0; i < rows.length; i += 20_000) {
    const src = unnestRows(LINE_COLUMNS, rows.slice(i, i + 20_000));
    const { rows: inserted } = await trx.raw<{ rows: unknown[] }>(
      `INSERT INTO statement_lines (school_id, collection_account_id, import_id, booked_on, booked_at, direction, amount_vnd, bank_transaction_id, description,
         virtual_account, counterparty_name, counterparty_account, balance_after_vnd, raw, payment_codes, dedupe_key, created_at)
       SELECT t.school_id, t.collection_account_id, t.import_id, t.booked_on, t.booked_at, t.direction, t.amount_vnd, t.bank_transaction_id, t.description,
         t.virtual_account, t.counterparty_name, t.counterparty_account, t.balance_after_vnd, t.raw,
         ARRAY(SELECT c FROM unnest(string_to_array(nullif(t.codes, ''), ',')) c WHERE EXISTS (SELECT 1 FROM invoices i WHERE i.school_id = t.school_id AND i.payment_code = c AND i.status <> 'draft')
           OR EXISTS (SELECT 1 FROM payment_bundles b WHERE b.school_id = t.school_id AND b.code = c)),
         t.dedupe_key, t.created_at
       FROM (${src.sql}) AS t(${LINE_COLUMNS.map((c) => c.name).join(', ')})
       ON CONFLICT (school_id, collection_account_id, dedupe_key) DO NOTHING RETURNING 1`,
      src.bindings,
    );
    added += inserted.length;
  }
  return added;
}

// The day's incoming lines with no outcome yet, and the account's payments not matched to a line
// (those from a window around the day: a transfer late in the evening may be booked the next day),
// copied into temporary tables for the transaction: the planner then knows their sizes, and each
// tier removes what it matched so the next one looks only at what is left.
export async function prepareCandidates(trx: Knex.Transaction, b: Binding): Promise<void> {
  await trx.raw(
    `CREATE TEMP TABLE recon_lines ON COMMIT DROP AS
     SELECT l.school_id, l.id, l.collection_account_id, l.amount_vnd, l.bank_transaction_id, l.virtual_account, l.booked_at, l.payment_codes[1] AS payment_code, left(l.description, 200) AS description
     FROM statement_lines l
     WHERE l.school_id = :school AND l.collection_account_id = :account AND l.booked_on = :day::date AND l.direction = 'in'
       AND NOT EXISTS (SELECT 1 FROM reconciliation_results r WHERE r.school_id = l.school_id AND r.line_id = l.id)`,
    b,
  );
  await trx.raw(
    `CREATE TEMP TABLE recon_payments ON COMMIT DROP AS
     SELECT p.id, p.provider, p.person_id, p.payment_code, p.amount_vnd, p.bank_reference, coalesce(p.occurred_at, p.recorded_at) AS at,
            (coalesce(p.occurred_at, p.recorded_at) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS paid_on
     FROM payments p
     WHERE p.school_id = :school AND p.collection_account_id = :account AND p.provider <> 'manual'
       AND coalesce(p.occurred_at, p.recorded_at) >= (:day::date - 3)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
       AND coalesce(p.occurred_at, p.recorded_at) < (:day::date + 2)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
       AND NOT EXISTS (SELECT 1 FROM reconciliation_results r WHERE r.school_id = p.school_id AND r.payment_id = p.id AND r.line_id IS NOT NULL)`,
    b,
  );
  await trx.raw('CREATE INDEX ON recon_lines (id); CREATE INDEX ON recon_payments (id); ANALYZE recon_lines; ANALYZE recon_payments');
}

const INSERT_RESULT = `INSERT INTO reconciliation_results (school_id, collection_account_id, statement_on, line_id, payment_id, outcome, rule, amount_vnd, details, status, created_at)`;

/** Inserts the results a SELECT gives and takes their lines and payments out of the candidates; returns how many. */
async function decide(trx: Knex.Transaction, b: Binding & Record<string, unknown>, select: string): Promise<number> {
  const { rows } = await trx.raw<{ rows: { n: string }[] }>(
    `WITH ins AS (${INSERT_RESULT} ${select} RETURNING line_id, payment_id),
     dl AS (DELETE FROM recon_lines x USING ins WHERE x.id = ins.line_id),
     dp AS (DELETE FROM recon_payments x USING ins WHERE x.id = ins.payment_id)
     SELECT count(*) AS n FROM ins`,
    b,
  );
  return Number(rows[0]!.n);
}

export type Binding = { school: string; account: string; day: string; now: Date };

/** Tier 1: the bank's transaction id is a recorded payment's bank reference. Another amount is an amount mismatch. */
export function matchByBankReference(trx: Knex.Transaction, b: Binding): Promise<number> {
  return decide(
    trx,
    b,
    `SELECT l.school_id, l.collection_account_id, :day::date, l.id, p.id,
            CASE WHEN l.amount_vnd = p.amount_vnd THEN 'matched' ELSE 'amount_mismatch' END,
            CASE WHEN l.amount_vnd = p.amount_vnd THEN 'bank_reference' END,
            l.amount_vnd,
            CASE WHEN l.amount_vnd = p.amount_vnd THEN '{}'::jsonb ELSE jsonb_build_object('payment_amount_vnd', p.amount_vnd, 'bank_reference', p.bank_reference) END,
            CASE WHEN l.amount_vnd = p.amount_vnd THEN 'closed' ELSE 'open' END, :now
     FROM recon_lines l JOIN recon_payments p ON p.bank_reference = l.bank_transaction_id`,
  );
}

/** Tiers 2 and 3: the k-th line of a (code, amount) pairs with the k-th payment of it, in time order; likewise (virtual account's student, amount). */
export function matchByKey(trx: Knex.Transaction, b: Binding, tier: 'payment_code' | 'virtual_account'): Promise<number> {
  const lineKey = tier === 'payment_code' ? 'l.payment_code' : 'v.person_id';
  const lineJoin = tier === 'payment_code' ? '' : 'JOIN virtual_accounts v ON v.school_id = l.school_id AND v.collection_account_id = l.collection_account_id AND v.number = l.virtual_account';
  const paymentKey = tier === 'payment_code' ? 'p.payment_code' : 'p.person_id';
  return decide(
    trx,
    b,
    `SELECT a.school_id, a.collection_account_id, :day::date, a.id, b.id, 'matched', '${tier}', a.amount_vnd, '{}'::jsonb, 'closed', :now
     FROM (SELECT l.id, l.school_id, l.collection_account_id, l.amount_vnd, ${lineKey} AS k,
                  row_number() OVER (PARTITION BY ${lineKey}, l.amount_vnd ORDER BY l.booked_at NULLS LAST, l.id) AS n
           FROM recon_lines l ${lineJoin} WHERE ${lineKey} IS NOT NULL) a
     JOIN (SELECT p.id, p.amount_vnd, ${paymentKey} AS k,
                  row_number() OVER (PARTITION BY ${paymentKey}, p.amount_vnd ORDER BY p.at, p.id) AS n
           FROM recon_payments p WHERE ${paymentKey} IS NOT NULL) b
       ON b.k = a.k AND b.amount_vnd = a.amount_vnd AND b.n = a.n`,
  );
}

/**
 * Tier 4: the same amount within a day of the line, when the line is the only one of the day with
 * that amount and the payment the only candidate: never a guess between two. Two transfers that
 * each carry a bank reference and did not meet in tier 1 are different transfers, so pairs where
 * both sides have one are left alone.
 */
export function matchByAmountWindow(trx: Knex.Transaction, b: Binding): Promise<number> {
  return decide(
    trx,
    b,
    `SELECT a.school_id, a.collection_account_id, :day::date, a.id, b.id, 'matched', 'amount_window', a.amount_vnd, '{}'::jsonb, 'closed', :now
     FROM (SELECT l.*, count(*) OVER (PARTITION BY l.amount_vnd) AS same FROM recon_lines l) a
     JOIN (SELECT p.*, count(*) OVER (PARTITION BY p.amount_vnd) AS same FROM recon_payments p WHERE p.paid_on BETWEEN :day::date - 1 AND :day::date + 1) b
       ON b.amount_vnd = a.amount_vnd
     WHERE a.same = 1 AND b.same = 1 AND NOT (a.bank_transaction_id IS NOT NULL AND coalesce(b.bank_reference, '') <> '')`,
  );
}

/** The day's remaining lines that carry a valid payment code: each becomes a payment from the statement. */
export async function linesToRecord(trx: Knex.Transaction): Promise<{ id: string; amount_vnd: string; bank_transaction_id: string | null; description: string; virtual_account: string | null; booked_at: Date | null; booked_on: string; payment_codes: string[]; raw: unknown }[]> {
  const { rows } = await trx.raw(`SELECT s.id, s.amount_vnd, s.bank_transaction_id, s.description, s.virtual_account, s.booked_at, s.booked_on::text, s.payment_codes, s.raw
    FROM recon_lines l JOIN statement_lines s ON s.school_id = l.school_id AND s.id = l.id WHERE l.payment_code IS NOT NULL ORDER BY l.booked_at NULLS LAST, l.id`);
  return rows;
}

/** Matches lines to the payments recorded from them (through their bank events). */
export function matchStatementPayments(trx: Knex.Transaction, b: Binding, eventIds: string[], lineIds: string[]): Promise<number> {
  if (eventIds.length === 0) return Promise.resolve(0);
  return decide(
    trx,
    { ...b, events: eventIds, lines: lineIds },
    `SELECT l.school_id, l.collection_account_id, :day::date, l.id, p.id, 'matched', 'statement_payment', l.amount_vnd, '{}'::jsonb, 'closed', :now
     FROM unnest(:events::text[], :lines::text[]) AS t(event_id, line_id)
     JOIN recon_lines l ON l.id = t.line_id
     JOIN payments p ON p.school_id = :school AND p.bank_event_id = t.event_id`,
  );
}

/** What is left: lines nobody recorded (missing in the service); the day's payments the bank did not show (missing at the bank, or a duplicate of a matched one). */
export async function recordLeftovers(trx: Knex.Transaction, b: Binding): Promise<number> {
  const lines = await decide(
    trx,
    b,
    `SELECT l.school_id, l.collection_account_id, :day::date, l.id, NULL, 'missing_in_service', NULL, l.amount_vnd,
            jsonb_build_object('description', l.description), 'open', :now
     FROM recon_lines l`,
  );
  // A duplicate: another payment to the same student of the same amount matched a line that day.
  const payments = await trx.raw(
    `WITH matched_today AS (
       SELECT q.id, q.person_id, q.amount_vnd FROM reconciliation_results r JOIN payments q ON q.school_id = r.school_id AND q.id = r.payment_id
       WHERE r.school_id = :school AND r.collection_account_id = :account AND r.statement_on = :day::date AND r.outcome = 'matched' AND q.person_id IS NOT NULL),
     twins AS (
       SELECT DISTINCT ON (p.id) p.id, t.id AS twin_id FROM recon_payments p JOIN matched_today t ON t.person_id = p.person_id AND t.amount_vnd = p.amount_vnd AND t.id <> p.id
       ORDER BY p.id, t.id)
     ${INSERT_RESULT}
     SELECT :school, :account, :day::date, NULL, p.id,
            CASE WHEN tw.twin_id IS NULL THEN 'missing_at_bank' ELSE 'duplicate' END, NULL, p.amount_vnd,
            CASE WHEN tw.twin_id IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('duplicate_of_payment_id', tw.twin_id) END, 'open', :now
     FROM recon_payments p LEFT JOIN twins tw ON tw.id = p.id
     WHERE p.paid_on = :day::date AND p.provider <> 'statement'
     ON CONFLICT DO NOTHING`,
    b,
  );
  return lines + (payments.rowCount ?? 0);
}

/** Brings the lines' reconciliation columns in line with their outcomes; touches only lines whose state changes. */
export async function settleLines(trx: Knex.Transaction, b: Binding): Promise<void> {
  await trx.raw(
    `UPDATE statement_lines l SET matched_vnd = l.amount_vnd, status = 'reconciled'
     FROM reconciliation_results r
     WHERE r.school_id = :school AND r.collection_account_id = :account AND r.statement_on = :day::date AND r.outcome = 'matched'
       AND l.school_id = r.school_id AND l.id = r.line_id AND l.status <> 'reconciled'`,
    b,
  );
  await trx.raw(
    `UPDATE statement_lines l SET status = 'exception'
     FROM reconciliation_results r
     WHERE r.school_id = :school AND r.collection_account_id = :account AND r.statement_on = :day::date AND r.status = 'open'
       AND l.school_id = r.school_id AND l.id = r.line_id AND l.status = 'unreconciled'`,
    b,
  );
}

export async function outcomesOfDay(db: Db, schoolId: string, accountId: string, day: string): Promise<Record<string, { count: number; amount_vnd: number }>> {
  const rows = await db('reconciliation_results')
    .where({ school_id: schoolId, collection_account_id: accountId, statement_on: day })
    .groupBy('outcome')
    .select<{ outcome: string; count: string; amount: string }[]>('outcome', db.raw('count(*) AS count'), db.raw('sum(amount_vnd) AS amount'));
  return Object.fromEntries(rows.map((r) => [r.outcome, { count: Number(r.count), amount_vnd: Number(r.amount) }]));
}
