import type { Knex } from 'knex';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';

/**
 * What must hold after the storm (tests/chaos/storm.ts), one named check each. A check returns
 * its figure and the problems it found (none when it holds).
 *
 * Extension point for the merge of issue 5 (receipts): append to STORM_CHECKS
 * - `receipt series numbered 1..N without gaps`: per (school, series) `max(number) = count(*)` and
 *   `min(number) = 1`;
 * - `tax outbox drains`: wait (bounded) until no outbox row is undelivered, then count them.
 * The storm's payments are the receipts' source, so nothing else needs to change.
 */
export interface StormContext {
  db: Knex;
  schoolId: string;
  transactions: number;
}

export interface StormCheck {
  name: string;
  run(ctx: StormContext): Promise<{ figure: number | string; problems: string[] }>;
}

const count = async (q: Knex.QueryBuilder): Promise<number> => Number(((await q.count<{ count: string }[]>('* as count'))[0] as { count: string }).count);

export const STORM_CHECKS: StormCheck[] = [
  {
    name: 'payments',
    async run({ db, schoolId, transactions }) {
      const payments = await count(db('payments').where({ school_id: schoolId }).whereNot({ provider: 'manual' }));
      return { figure: payments, problems: payments === transactions ? [] : [`${payments} payments for ${transactions} distinct transactions`] };
    },
  },
  {
    name: 'bank_events',
    async run({ db, schoolId, transactions }) {
      const events = await count(db('bank_events').where({ school_id: schoolId }));
      const unprocessed = await count(db('bank_events').where({ school_id: schoolId, status: 'received' }));
      const problems = [];
      if (events !== transactions) problems.push(`${events} bank events stored for ${transactions} transactions`);
      if (unprocessed > 0) problems.push(`${unprocessed} bank events never processed`);
      return { figure: events, problems };
    },
  },
  {
    name: 'ledger_violations',
    async run({ db }) {
      const violations = await findLedgerViolations(db);
      return { figure: violations.length, problems: violations.slice(0, 10) };
    },
  },
  {
    name: 'invoices_paid_equals_allocations',
    async run({ db, schoolId }) {
      const { rows } = await db.raw<{ rows: { id: string; paid_vnd: string; allocated: string }[] }>(
        `SELECT i.id, i.paid_vnd, coalesce(sum(a.amount_vnd), 0) AS allocated
         FROM invoices i LEFT JOIN allocations a ON a.school_id = i.school_id AND a.invoice_id = i.id
         WHERE i.school_id = ? GROUP BY i.id, i.paid_vnd HAVING i.paid_vnd <> coalesce(sum(a.amount_vnd), 0)`,
        [schoolId],
      );
      return { figure: rows.length, problems: rows.slice(0, 10).map((r) => `${r.id}: paid ${r.paid_vnd}, allocations ${r.allocated}`) };
    },
  },
];
