import type { Knex } from 'knex';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';

/**
 * What must hold after the storm (tests/chaos/storm.ts), one named check each. A check returns
 * its figure and the problems it found (none when it holds). Work that finishes after the storm
 * (the retry job processing events a killed process stored, the receipt sweep, the tax outbox) is
 * waited for first: the storm waits, within a bound, until every check's `settled` says so, then
 * runs the checks, which report what is still unfinished as a problem.
 */
export interface StormContext {
  db: Knex;
  schoolId: string;
  transactions: number;
}

export interface StormCheck {
  name: string;
  /** True once the work this check looks at has finished (absent: nothing to wait for). */
  settled?(ctx: StormContext): Promise<boolean>;
  run(ctx: StormContext): Promise<{ figure: number | string; problems: string[] }>;
}

const count = async (q: Knex.QueryBuilder): Promise<number> => Number(((await q.count<{ count: string }[]>('* as count'))[0] as { count: string }).count);

/**
 * Payment allocations still waiting for a receipt: positive, from a payment, to an invoice with a
 * receipt-kind line, covered by no receipt, and still paid by that payment (the sweep's own
 * definition, receipt-issuing.service.ts). The storm's school has a series valid today.
 */
async function allocationsWithoutReceipt(db: Knex, schoolId: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { count: string }[] }>(
    `SELECT count(*) AS count FROM allocations a
     WHERE a.school_id = ? AND a.source = 'payment' AND a.amount_vnd > 0
       AND NOT EXISTS (SELECT 1 FROM receipt_allocations ra WHERE ra.school_id = a.school_id AND ra.allocation_id = a.id)
       AND EXISTS (SELECT 1 FROM invoice_lines l JOIN fee_items f ON f.school_id = l.school_id AND f.id = l.fee_item_id
                   WHERE l.school_id = a.school_id AND l.invoice_id = a.invoice_id AND f.document_kind = 'receipt' AND l.total_vnd > 0)
       AND (SELECT sum(x.amount_vnd) FROM allocations x WHERE x.school_id = a.school_id AND x.payment_id = a.payment_id AND x.invoice_id = a.invoice_id) > 0`,
    [schoolId],
  );
  return Number(rows[0]!.count);
}

const pendingTaxItems = (db: Knex, schoolId: string) => count(db('tax_outbox').where({ school_id: schoolId, status: 'pending' }));

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
    // Events stored by a process killed before processing them are picked up by the retry job.
    settled: async ({ db, schoolId }) => (await count(db('bank_events').where({ school_id: schoolId, status: 'received' }))) === 0,
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
  {
    // Every payment that paid a receipt-kind fee got its receipt (by the sweep a callback requests,
    // or the scheduled sweep when the process that took the payment was killed first).
    name: 'allocations_without_receipt',
    settled: async ({ db, schoolId }) => (await allocationsWithoutReceipt(db, schoolId)) === 0,
    async run({ db, schoolId }) {
      const waiting = await allocationsWithoutReceipt(db, schoolId);
      return { figure: waiting, problems: waiting === 0 ? [] : [`${waiting} payment allocations still without a receipt`] };
    },
  },
  {
    // Every receipt series numbered 1..N without a gap or a repeat, and its counter at N + 1 (a
    // number taken is a number used: a rolled-back issue gave its numbers back).
    name: 'receipts',
    async run({ db, schoolId }) {
      const { rows } = await db.raw<{ rows: { template_code: string; symbol: string; receipts: string; distinct_numbers: string; first: number | null; last: number | null; next_number: number }[] }>(
        `SELECT c.template_code, c.symbol, count(r.id) AS receipts, count(DISTINCT r.number) AS distinct_numbers, min(r.number) AS first, max(r.number) AS last, c.next_number
         FROM receipt_number_counters c
         LEFT JOIN receipts r ON r.school_id = c.school_id AND r.template_code = c.template_code AND r.symbol = c.symbol
         WHERE c.school_id = ?
         GROUP BY c.template_code, c.symbol, c.next_number`,
        [schoolId],
      );
      const problems: string[] = [];
      let receipts = 0;
      for (const r of rows) {
        const n = Number(r.receipts);
        receipts += n;
        const series = `${r.template_code} ${r.symbol}`;
        if (Number(r.distinct_numbers) !== n) problems.push(`${series}: ${n} receipts but ${r.distinct_numbers} distinct numbers`);
        if (n > 0 && (r.first !== 1 || r.last !== n)) problems.push(`${series}: ${n} receipts numbered ${r.first}..${r.last}`);
        if (r.next_number !== n + 1) problems.push(`${series}: counter at ${r.next_number} after ${n} receipts`);
      }
      if (receipts === 0) problems.push('no receipt was issued');
      return { figure: receipts, problems };
    },
  },
  {
    // Every receipt event reached the tax authority (the service's simulator): no outbox item
    // left pending, none rejected (the simulator rejects only when told to).
    name: 'tax_outbox',
    settled: async ({ db, schoolId }) => (await pendingTaxItems(db, schoolId)) === 0,
    async run({ db, schoolId }) {
      const receipts = await count(db('receipts').where({ school_id: schoolId }));
      const items = await count(db('tax_outbox').where({ school_id: schoolId, action: 'issue' }));
      const pending = await pendingTaxItems(db, schoolId);
      const rejected = await count(db('tax_outbox').where({ school_id: schoolId, status: 'rejected' }));
      const problems: string[] = [];
      if (items !== receipts) problems.push(`${items} issue items in the outbox for ${receipts} receipts`);
      if (pending > 0) problems.push(`${pending} outbox items still pending`);
      if (rejected > 0) problems.push(`${rejected} outbox items rejected`);
      return { figure: items - pending, problems };
    },
  },
];
