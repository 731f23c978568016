import type { Knex } from 'knex';
import { fixedClock } from '../src/lib/clock';
import type { Logger } from 'pino';
import { loadPrincipal } from '../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../src/modules/invoices/invoices.service';
import { reconcileDay } from '../src/modules/reconciliation/reconciliation.service';
import { DEMO_ACCOUNTANTS, DEMO_SCHOOLS } from '../seeds/demo-data';

/**
 * Reconciliation at scale: one demo school's month of invoices issued, then 100,000 recorded
 * payments (bank events and payments loaded set-based, not through the callback path) and a
 * 100,000-line statement of the same day loaded set-based: 90 % carry the payment's bank reference
 * (tier 1), 7 % only the payment code and amount (tier 2), 1 % a valid code and no payment (they
 * become payments from the statement, through the payment machinery), 2 % nothing anyone recorded;
 * and 2 % of the payments have no line. Times reconcileDay end to end, then a second run.
 */
export async function benchReconciliation(db: Knex, logger: Logger, lines = 100_000): Promise<Record<string, number>> {
  const clock = fixedClock(new Date('2026-11-22T03:00:00Z'));
  const day = '2026-11-21';
  const school = await db('schools').where({ code: DEMO_SCHOOLS[0]!.code }).first<{ id: string }>('id');
  const principal = await loadPrincipal(db, DEMO_ACCOUNTANTS[0]!.personalId);
  const run = await startInvoiceRun({ db, clock, principal }, school.id, { kind: 'month', month: '2026-11' });
  await executeInvoiceRun(db, clock, school.id, run.id);
  await issueRunInvoices({ db, clock, principal }, school.id, run.id);
  const account = await db('collection_accounts').where({ school_id: school.id, is_default: true }).first<{ id: string; account_number: string }>('id', 'account_number');
  const endpoint = await db('bank_endpoints').where({ school_id: school.id, collection_account_id: account.id, provider: 'direct' }).first<{ id: string }>('id');

  const load = performance.now();
  const paymentCount = Math.round(lines * 0.99);
  const sql = `CREATE TEMP TABLE bench_inv AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, person_id, payment_code FROM invoices WHERE school_id = :school AND status <> 'draft';
     CREATE TEMP TABLE bench_n AS
       SELECT n, (SELECT count(*) FROM bench_inv) AS m, 100000 + n AS amount,
              ('2026-11-21 01:00:00+00'::timestamptz + (n % 36000) * interval '1 second') AS at
       FROM generate_series(0, :lines - 1) n;
     INSERT INTO bank_events (school_id, id, endpoint_id, provider, external_id, amount_vnd, direction, account_number, description, transfer, raw_headers, raw_body, raw_query, received_at, status, processed_at, response_status, response_body)
       SELECT :school, 'bev_bench' || n, :endpoint, 'direct', 'BENCH-' || n, amount, 'in', :number, 'HP ' || i.payment_code, '{}', '{}', '', '{}', at, 'processed', at, 200, '{}'
       FROM bench_n JOIN bench_inv i ON i.k = n % m WHERE n < :payments AND n % 100 <> 98;
     INSERT INTO payments (school_id, id, bank_event_id, provider, collection_account_id, person_id, payment_code, amount_vnd, status, occurred_at, recorded_at, bank_reference)
       SELECT :school, 'pay_bench' || n, 'bev_bench' || n, 'direct', :account, i.person_id, i.payment_code, amount, 'attributed', at, at, 'BR-' || n
       FROM bench_n JOIN bench_inv i ON i.k = n % m WHERE n < :payments AND n % 100 <> 98;
     INSERT INTO statement_imports (school_id, id, collection_account_id, source, from_on, to_on, content, content_sha256, line_count, new_line_count, imported_at)
       VALUES (:school, 'stm_bench', :account, 'csv', :day, :day, '(bench)', '', :lines, :lines, now());
     INSERT INTO statement_lines (school_id, collection_account_id, import_id, booked_on, booked_at, direction, amount_vnd, bank_transaction_id, description, raw, payment_codes, dedupe_key, created_at)
       SELECT :school, :account, 'stm_bench', :day, at, 'in', amount,
              CASE WHEN n % 100 < 90 THEN 'BR-' || n ELSE 'VCB-' || n END,
              CASE WHEN n % 100 >= 97 AND n % 100 <> 99 AND n < :payments THEN 'ung ho ' || n ELSE 'NGUYEN VAN A chuyen tien HP ' || i.payment_code END,
              '{}', CASE WHEN n % 100 >= 97 AND n % 100 <> 99 AND n < :payments THEN '{}'::text[] ELSE ARRAY[i.payment_code] END,
              'id:' || CASE WHEN n % 100 < 90 THEN 'BR-' || n ELSE 'VCB-' || n END, now()
       FROM bench_n JOIN bench_inv i ON i.k = n % m
       WHERE n % 100 <> 97;
     ANALYZE payments; ANALYZE statement_lines; ANALYZE bank_events; ANALYZE reconciliation_results`;
  const bindings = { school: school.id, endpoint: endpoint.id, number: account.account_number, account: account.id, lines, payments: paymentCount, day };
  // One connection (temp tables), one statement per call (bound parameters).
  await db.transaction(async (trx) => {
    for (const statement of sql.split(/;\s*\n|;\s*(?=ANALYZE)/)) await trx.raw(statement, bindings);
  });
  const counted = (await db('statement_lines').where({ school_id: school.id, booked_on: day }).count('* as count')) as { count: string }[];
  const count = counted[0]!.count;
  const loadSeconds = (performance.now() - load) / 1000;
  console.log(`reconciliation: loaded ${count} lines and their payments in ${loadSeconds.toFixed(1)} s`);

  const started = performance.now();
  const first = await reconcileDay({ db, clock, logger }, school.id, account.id, day);
  const seconds = (performance.now() - started) / 1000;
  const again = performance.now();
  const second = await reconcileDay({ db, clock, logger }, school.id, account.id, day);
  const rerunSeconds = (performance.now() - again) / 1000;
  console.log(`reconciliation: ${count} lines in ${seconds.toFixed(2)} s; outcomes ${JSON.stringify(first.outcomes)}; re-run ${rerunSeconds.toFixed(2)} s, ${second.new_results} new`);
  return { lines: Number(count), seconds: +seconds.toFixed(2), lines_per_s: Math.round(Number(count) / seconds), rerun_seconds: +rerunSeconds.toFixed(2) };
}
