import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import type { Benchmark } from './harness';
import { fixedClock } from '../src/lib/clock';
import type { Logger } from 'pino';
import { loadPrincipal } from '../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../src/modules/invoices/invoices.service';
import { prepareCandidates } from '../src/modules/reconciliation/reconciliation.repository';
import { reconcileDay } from '../src/modules/reconciliation/reconciliation.service';
import { DEMO_ACCOUNTANTS, DEMO_SCHOOLS } from '../seeds/demo-data';

/**
 * Reconciliation at scale: one demo school's month of invoices issued, then 100,000 recorded
 * payments (bank events and payments loaded set-based, not through the callback path) and a
 * 100,000-line statement of the same day loaded set-based: 90 % carry the payment's bank reference
 * (tier 1), 6 % only the payment code and amount (tier 2), 1 % a valid code and no payment (they
 * become payments from the statement, through the payment machinery), 1 % nothing anyone recorded,
 * 2 % outgoing fees; and 1 % of the payments have no line. Times reconcileDay end to end, then a second run.
 */
/** Prints the per-step timings reconcileDay logs. */
function stepLogger(logger: Logger): Logger {
  return { ...logger, info: (obj: unknown) => { const steps = (obj as { steps_ms?: unknown }).steps_ms; if (steps) console.log(`reconciliation: steps ${JSON.stringify(steps)}`); } } as unknown as Logger;
}

/**
 * CPU seconds (user + system) the database's backends serving this database have used, read from
 * /proc (a local server; null when it cannot be read). Unlike wall time, it hardly moves with the
 * machine's load, so it compares two versions measured while other work runs.
 */
async function backendCpuSeconds(db: Knex): Promise<Map<number, number> | null> {
  const { rows } = await db.raw<{ rows: { pid: number }[] }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
  const ticks = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      return null;
    }
  }
  return ticks;
}
const cpuDelta = (before: Map<number, number> | null, after: Map<number, number> | null) =>
  before && after ? +[...after].reduce((sum, [pid, s]) => sum + s - (before.get(pid) ?? 0), 0).toFixed(2) : null;

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
  // Lines n = 0..lines-1 by n % 100: 0-89 the payment's bank reference (tier 1); 90-95 another id,
  // the code and amount (tier 2); 96 a code and no payment (a payment from the statement); 97 no code,
  // no payment (missing in the service). Payments for 0-95, and for 98 with no line (missing at the bank).
  const sql = `CREATE TEMP TABLE bench_inv AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, person_id, payment_code FROM invoices WHERE school_id = :school AND status <> 'draft';
     CREATE TEMP TABLE bench_n AS
       SELECT n, n % 100 AS c, (SELECT count(*) FROM bench_inv) AS m, 100000 + n AS amount,
              ('2026-11-21 01:00:00+00'::timestamptz + (n % 36000) * interval '1 second') AS at
       FROM generate_series(0, :lines - 1) n;
     INSERT INTO bank_events (school_id, id, endpoint_id, provider, external_id, amount_vnd, direction, account_number, description, transfer, raw_headers, raw_body, raw_query, received_at, status, processed_at, response_status, response_body)
       SELECT :school, 'bev_bench' || n, :endpoint, 'direct', 'BENCH-' || n, amount, 'in', :number, 'HP ' || i.payment_code, '{}', '{}', '', '{}', at, 'processed', at, 200, '{}'
       FROM bench_n JOIN bench_inv i ON i.k = n % m WHERE c <= 95 OR c = 98;
     INSERT INTO payments (school_id, id, bank_event_id, provider, collection_account_id, person_id, payment_code, amount_vnd, status, occurred_at, recorded_at, bank_reference)
       SELECT :school, 'pay_bench' || n, 'bev_bench' || n, 'direct', :account, i.person_id, i.payment_code, amount, 'attributed', at, at, 'BR-' || n
       FROM bench_n JOIN bench_inv i ON i.k = n % m WHERE c <= 95 OR c = 98;
     INSERT INTO statement_imports (school_id, id, collection_account_id, source, from_on, to_on, content, content_sha256, line_count, new_line_count, imported_at)
       VALUES (:school, 'stm_bench', :account, 'csv', :day, :day, '(bench)', '', :lines, :lines, now());
     INSERT INTO statement_lines (school_id, collection_account_id, import_id, booked_on, booked_at, direction, amount_vnd, bank_transaction_id, description, raw, payment_codes, dedupe_key, created_at)
       SELECT :school, :account, 'stm_bench', :day, at, 'in', amount,
              CASE WHEN c < 90 THEN 'BR-' || n ELSE 'VCB-' || n END,
              CASE WHEN c = 97 THEN 'ung ho ' || n ELSE 'NGUYEN VAN A chuyen tien HP ' || i.payment_code END,
              '{}', CASE WHEN c = 97 THEN '{}'::text[] ELSE ARRAY[i.payment_code] END,
              'id:' || CASE WHEN c < 90 THEN 'BR-' || n ELSE 'VCB-' || n END, now()
       FROM bench_n JOIN bench_inv i ON i.k = n % m
       WHERE c <= 97;
     INSERT INTO statement_lines (school_id, collection_account_id, import_id, booked_on, booked_at, direction, amount_vnd, bank_transaction_id, description, raw, payment_codes, dedupe_key, created_at)
       SELECT :school, :account, 'stm_bench', :day, at, 'out', 1000 + c, 'OUT-' || n, 'phi dich vu', '{}', '{}', 'id:OUT-' || n, now()
       FROM bench_n WHERE c >= 98;
     ANALYZE payments; ANALYZE statement_lines; ANALYZE bank_events; ANALYZE reconciliation_results`;
  const bindings = { school: school.id, endpoint: endpoint.id, number: account.account_number, account: account.id, lines, day };
  // One connection (temp tables), one statement per call (bound parameters).
  await db.transaction(async (trx) => {
    for (const statement of sql.split(/;\s*\n|;\s*(?=ANALYZE)/)) await trx.raw(statement, bindings);
  });
  const counted = (await db('statement_lines').where({ school_id: school.id, booked_on: day }).count('* as count')) as { count: string }[];
  const count = counted[0]!.count;
  const loadSeconds = (performance.now() - load) / 1000;
  console.log(`reconciliation: loaded ${count} lines and their payments in ${loadSeconds.toFixed(1)} s`);

  if (process.env.BENCH_EXPLAIN) {
    // Diagnostics: the plan of tier 1 on this data, in a transaction rolled back.
    await db.transaction(async (trx) => {
      const b = { school: school.id, account: account.id, day, now: clock.now() };
      await prepareCandidates(trx, b);
      const { rows } = await trx.raw(
        `EXPLAIN (ANALYZE, BUFFERS) WITH ins AS (INSERT INTO reconciliation_results (school_id, collection_account_id, statement_on, line_id, payment_id, outcome, rule, amount_vnd, details, status, created_at)
         SELECT l.school_id, l.collection_account_id, :day::date, l.id, p.id, 'matched', 'bank_reference', l.amount_vnd, '{}'::jsonb, 'closed', :now
         FROM recon_lines l JOIN recon_payments p ON p.bank_reference = l.bank_transaction_id RETURNING line_id, payment_id),
         dl AS (DELETE FROM recon_lines x USING ins WHERE x.id = ins.line_id),
         dp AS (DELETE FROM recon_payments x USING ins WHERE x.id = ins.payment_id)
         SELECT count(*) FROM ins`,
        b,
      );
      console.log(rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n'));
      await trx.rollback();
    }).catch(() => undefined);
  }
  const cpuBefore = await backendCpuSeconds(db);
  const nodeCpu = process.cpuUsage();
  const started = performance.now();
  const first = await reconcileDay({ db, clock, logger: stepLogger(logger) }, school.id, account.id, day);
  const seconds = (performance.now() - started) / 1000;
  const nodeUsed = process.cpuUsage(nodeCpu);
  const nodeCpuS = +((nodeUsed.user + nodeUsed.system) / 1e6).toFixed(2);
  const dbCpuS = cpuDelta(cpuBefore, await backendCpuSeconds(db));
  const again = performance.now();
  const second = await reconcileDay({ db, clock, logger }, school.id, account.id, day);
  const rerunSeconds = (performance.now() - again) / 1000;
  console.log(`reconciliation: ${count} lines in ${seconds.toFixed(2)} s; outcomes ${JSON.stringify(first.outcomes)}; re-run ${rerunSeconds.toFixed(2)} s, ${second.new_results} new`);
  return { lines: Number(count), seconds: +seconds.toFixed(2), lines_per_s: Math.round(Number(count) / seconds), rerun_seconds: +rerunSeconds.toFixed(2), ...(dbCpuS === null ? {} : { db_cpu_s: dbCpuS }), node_cpu_s: nodeCpuS };
}

/** Matching a day's statement is a bulk path: compared with the raw COPY rate through `lines_per_s`. */
export const benchmark: Benchmark = {
  name: 'reconciliation',
  kind: 'bulk',
  rate: 'lines_per_s',
  run: (ctx) => benchReconciliation(ctx.db, ctx.logger),
};
