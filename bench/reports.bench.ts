import { spawn } from 'node:child_process';
import type { Knex } from 'knex';
import { systemClock } from '../src/lib/clock';
import { loadPrincipal } from '../src/modules/access/access.service';
import { getRevenueReport, type ScopeRequest } from '../src/modules/reports/reports.service';
import { rebuildRollups, verifyRollups } from '../src/modules/reports/rollups.service';
import { DEMO_FINANCE_OFFICERS } from '../seeds/demo-data';
import type { Benchmark, Figures } from './harness';

/**
 * Reports at city scale. Into its scratch database it loads, with COPY (psql, FROM STDIN, in
 * BENCH_REPORT_SESSIONS parallel sessions, default 2), BENCH_REPORT_STUDENTS students (default
 * 1,700,000) across BENCH_REPORT_SCHOOLS schools (default 2,000, in 22 districts of the demo city)
 * and BENCH_REPORT_MONTHS months (default 6, June to November 2026) of issued invoices (one line
 * each, three fee items in turn, one student in ten half exempt from tuition) and payments for
 * three invoices in four (five channels in turn, one allocation each).
 *
 * The load is a bulk load: the sessions run with session_replication_role = replica (triggers and
 * foreign keys off; the people, classes and plans the invoices would reference are not loaded),
 * and in this scratch database the four raw tables keep no index at all (the timed reports never
 * read them). The roll-ups are then built by the roll-up job's set-based rebuild
 * (`rebuildRollups()`: the same rules as the triggers, from the raw history), timed apart.
 * BENCH_REPORT_VERIFY=1 also times the nightly check (`verifyRollups()`) over the whole city.
 *
 * Then it times, five times each (median): the city report (every school, with a line per
 * school), a district report and a school report for November, as a finance officer gets them.
 */
const STUDENTS = Number(process.env.BENCH_REPORT_STUDENTS ?? 1_700_000);
const SCHOOLS = Number(process.env.BENCH_REPORT_SCHOOLS ?? 2_000);
const MONTHS = Number(process.env.BENCH_REPORT_MONTHS ?? 6);
const CHUNK = 100_000;
const SESSIONS = Number(process.env.BENCH_REPORT_SESSIONS ?? 2);
const EXTRA_DISTRICTS = 19;
const PROVIDERS = ['billpay', 'sepay', 'vnpay', 'manual', 'statement'] as const;
const CODE_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
const ITEMS = [
  { code: 'HOC_PHI', name: 'Học phí', gross: 300_000, exemptible: true },
  { code: 'TIEN_AN', name: 'Tiền ăn bán trú', gross: 700_000, exemptible: false },
  { code: 'HOC_2_BUOI', name: 'Tổ chức dạy học 2 buổi/ngày', gross: 150_000, exemptible: false },
];

const hex = (prefix: string, n: number) => `${prefix}_${n.toString(16).padStart(32, '0')}`;
function paymentCode(n: number): string {
  let s = '';
  for (let i = 0; i < 10; i++) {
    s += CODE_ALPHABET[n % 32];
    n = Math.floor(n / 32);
  }
  return s;
}
const monthStart = (m: number) => new Date(Date.UTC(2026, 11 - MONTHS + m, 1));
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** Streams SQL and COPY data into one psql session; resolves when psql exits cleanly. */
function psqlSession(databaseUrl: string) {
  const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', databaseUrl], { stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<void>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited with ${code}`)))));
  const write = (text: string) => new Promise<void>((resolve) => (child.stdin.write(text) ? resolve() : child.stdin.once('drain', resolve)));
  return { write, end: async () => { child.stdin.end(); await done; } };
}

interface SchoolRow { id: string; items: string[] }

async function prepareCity(db: Knex): Promise<SchoolRow[]> {
  const city = await db('cities').where({ code: 'HCM' }).first<{ id: string }>('id');
  await db.raw(`INSERT INTO districts (city_id, code, name) SELECT ?, 'B' || lpad(g::text, 2, '0'), 'Quận đo tải ' || g FROM generate_series(1, ?) g`, [city.id, EXTRA_DISTRICTS]);
  await db.raw(
    `WITH d AS (SELECT id, row_number() OVER (ORDER BY code) - 1 AS k, count(*) OVER () AS n FROM districts WHERE city_id = ?)
     INSERT INTO schools (code, name, level, district_id, tax_code, address)
     SELECT 'BENCH-' || lpad(s::text, 5, '0'), 'Trường đo tải ' || s, 'primary', d.id, '03990' || lpad(s::text, 5, '0'), 'Địa chỉ ' || s
       FROM generate_series(0, ? - 1) s JOIN d ON d.k = s % d.n`,
    [city.id, SCHOOLS],
  );
  await db.raw(
    `INSERT INTO fee_items (school_id, code, name, unit, document_kind, exemptible, optional, revenue_code)
     SELECT s.id, i.code, i.name, 'month', 'receipt', i.exemptible, false, i.code
       FROM schools s CROSS JOIN (SELECT * FROM jsonb_to_recordset(?::jsonb) AS x(code text, name text, exemptible boolean)) i WHERE s.code LIKE 'BENCH-%'`,
    [JSON.stringify(ITEMS)],
  );
  const rows = await db('schools as s').join('fee_items as f', 'f.school_id', 's.id').where('s.code', 'like', 'BENCH-%').orderBy('s.code')
    .select<{ id: string; code: string; fee_code: string; fee_id: string }[]>('s.id', 's.code', 'f.code as fee_code', 'f.id as fee_id');
  const bySchool = new Map<string, SchoolRow>();
  for (const r of rows) {
    const s = bySchool.get(r.id) ?? { id: r.id, items: [] };
    s.items[ITEMS.findIndex((i) => i.code === r.fee_code)] = r.fee_id;
    bySchool.set(r.id, s);
  }
  return [...bySchool.values()];
}

/** A bulk load's usual first step, in this scratch database only: the raw tables lose every index. */
async function dropRawIndexes(db: Knex): Promise<void> {
  for (const table of ['invoices', 'invoice_lines', 'payments', 'allocations']) {
    const constraints = await db('pg_constraint').where({ conrelid: db.raw('?::regclass', [table]) }).whereIn('contype', ['u', 'p']).pluck<string[]>('conname');
    for (const c of constraints) await db.raw(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${c} CASCADE`);
    const indexes = await db('pg_indexes').where({ tablename: table, schemaname: 'public' }).pluck<string[]>('indexname');
    for (const i of indexes) await db.raw(`DROP INDEX IF EXISTS ${i}`);
  }
}

/** One session's share: the students `from <= g < to` of every month. */
async function loadPart(databaseUrl: string, schools: SchoolRow[], recorderId: string, part: { from: number; to: number }): Promise<number> {
  const perSchool = Math.floor(STUDENTS / schools.length);
  const students = perSchool * schools.length;
  const psql = psqlSession(databaseUrl);
  await psql.write('SET session_replication_role = replica;\n');
  let rows = 0;
  for (let m = 0; m < MONTHS; m++) {
    const start = monthStart(m);
    const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0));
    const label = `Tháng ${start.getUTCMonth() + 1}/${start.getUTCFullYear()}`;
    const due = isoDay(new Date(start.getTime() + 14 * 86_400_000));
    const issuedAt = new Date(start.getTime() + 86_400_000 + 3 * 3_600_000).toISOString();
    for (let from = part.from; from < part.to; from += CHUNK) {
      const to = Math.min(part.to, from + CHUNK);
      const lines: string[] = [];
      const invoices: string[] = [];
      const payments: string[] = [];
      const allocations: string[] = [];
      for (let g = from; g < to; g++) {
        const s = Math.floor(g / perSchool);
        const j = g % perSchool;
        const school = schools[s]!;
        const n = m * students + g;
        const itemNo = j % 3;
        const item = ITEMS[itemNo]!;
        const exemption = item.exemptible && j % 10 === 0 ? item.gross / 2 : 0;
        const total = item.gross - exemption;
        const paid = (j + m) % 4 !== 0;
        const id = hex('inv', n);
        lines.push(`${school.id},${id},1,fee,${school.items[itemNo]},${item.name},1,${item.gross},${item.gross},${exemption ? 50 : 0},${exemption},${total}`);
        invoices.push(`${school.id},${id},${hex('per', g)},cls_bench,planv_bench,month,${label},${isoDay(start)},${isoDay(end)},${due},${paid ? 'paid' : 'open'},HD-${start.getUTCFullYear()},${n + 1},${total},${paid ? total : 0},${paymentCode(n)},tok${n.toString(16).padStart(24, '0')},${issuedAt},${issuedAt}`);
        if (paid) {
          const provider = PROVIDERS[(j + m) % 5]!;
          const at = new Date(start.getTime() + ((j % 25) + 2) * 86_400_000 + 2 * 3_600_000).toISOString();
          const manual = provider === 'manual';
          payments.push(`${school.id},${hex('pay', n)},${manual ? '' : hex('bev', n)},${provider},${hex('per', g)},${paymentCode(n)},${total},attributed,${at},${at},${manual ? recorderId : ''},${manual ? 'Nộp tiền mặt' : ''}`);
          allocations.push(`${school.id},${hex('alc', n)},${id},${hex('pay', n)},payment,${total},${at}`);
        }
      }
      await psql.write('COPY invoice_lines (school_id, invoice_id, line_no, kind, fee_item_id, description, quantity, unit_amount_vnd, gross_vnd, exemption_percent, exemption_vnd, total_vnd) FROM STDIN WITH (FORMAT csv);\n');
      await psql.write(`${lines.join('\n')}\n\\.\n`);
      await psql.write('COPY invoices (school_id, id, person_id, class_id, plan_version_id, period_kind, period_label, period_start, period_end, due_on, status, series, number, total_vnd, paid_vnd, payment_code, pay_token, created_at, issued_at) FROM STDIN WITH (FORMAT csv);\n');
      await psql.write(`${invoices.join('\n')}\n\\.\n`);
      await psql.write('COPY payments (school_id, id, bank_event_id, provider, person_id, payment_code, amount_vnd, status, occurred_at, recorded_at, recorded_by, reason) FROM STDIN WITH (FORMAT csv);\n');
      await psql.write(`${payments.join('\n')}\n\\.\n`);
      await psql.write('COPY allocations (school_id, id, invoice_id, payment_id, source, amount_vnd, created_at) FROM STDIN WITH (FORMAT csv);\n');
      await psql.write(`${allocations.join('\n')}\n\\.\n`);
      rows += lines.length + invoices.length + payments.length + allocations.length;
    }
    if (part.from === 0) console.log(`reports: month ${isoDay(start).slice(0, 7)} sent by the first session (${rows} rows so far)`);
  }
  await psql.end();
  return rows;
}

async function load(databaseUrl: string, schools: SchoolRow[], recorderId: string): Promise<number> {
  const perSchool = Math.floor(STUDENTS / schools.length);
  // Whole schools per session, so the sessions never write the same school.
  const bounds = Array.from({ length: SESSIONS + 1 }, (_, k) => Math.round((k * schools.length) / SESSIONS) * perSchool);
  const parts = await Promise.all(bounds.slice(0, -1).map((from, k) => loadPart(databaseUrl, schools, recorderId, { from, to: bounds[k + 1]! })));
  return parts.reduce((a, b) => a + b, 0);
}

async function timeIt(run: () => Promise<unknown>, times = 5): Promise<{ median: number; first: number }> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  const sorted = [...ms].sort((a, b) => a - b);
  return { median: Math.round(sorted[Math.floor(times / 2)]!), first: Math.round(ms[0]!) };
}

export const benchmark: Benchmark = {
  name: 'reports',
  kind: 'read',
  rate: '',
  async run({ db, databaseUrl }): Promise<Figures> {
    const t0 = performance.now();
    const schools = await prepareCity(db);
    await dropRawIndexes(db);
    const recorder = await db('people').first<{ id: string }>('id');
    const rows = await load(databaseUrl, schools, recorder.id);
    const loadS = (performance.now() - t0) / 1000;
    console.log(`reports: ${rows} rows (invoices, lines, payments, allocations) loaded with COPY in ${SESSIONS} sessions in ${loadS.toFixed(1)} s`);
    await db.raw('ANALYZE invoices, invoice_lines, payments, allocations');
    const t1 = performance.now();
    await rebuildRollups(db);
    const rollupS = (performance.now() - t1) / 1000;
    console.log(`reports: roll-ups built from the raw history (rebuildRollups) in ${rollupS.toFixed(1)} s`);
    await db.raw('ANALYZE');
    const rollupRows = Object.fromEntries(
      await Promise.all(['report_fee_item_months', 'report_collection_months', 'report_school_months'].map(async (t) => [t, Number((await db(t).count<{ c: string }[]>('* as c'))[0]!.c)])),
    );
    console.log(`reports: roll-up rows ${JSON.stringify(rollupRows)}`);

    const officer = (district: string | null) => loadPrincipal(db, DEMO_FINANCE_OFFICERS.find((f) => f.district === district)!.person.personalId);
    const city = await officer(null);
    const q12 = await officer('Q12');
    const month = isoDay(monthStart(MONTHS - 1)).slice(0, 7);
    const report = (principal: typeof city, scope: ScopeRequest) => getRevenueReport({ db, clock: systemClock, principal }, scope, month);
    const cityTime = await timeIt(() => report(city, { level: 'city', cityCode: 'HCM' }));
    const districtTime = await timeIt(() => report(q12, { level: 'district', districtCode: 'Q12' }));
    const schoolTime = await timeIt(() => report(city, { level: 'school', schoolId: schools[0]!.id }));
    const cityReport = (await report(city, { level: 'city', cityCode: 'HCM' })).report;
    console.log(`reports: city ${month}: ${cityReport.schools.length} schools, billed ${cityReport.totals.billed_vnd}, collected ${cityReport.totals.collected_vnd}, outstanding ${cityReport.totals.outstanding_vnd}`);
    console.log(`reports: city ${cityTime.median} ms (first ${cityTime.first}), district ${districtTime.median} ms (first ${districtTime.first}), school ${schoolTime.median} ms (first ${schoolTime.first}); medians of 5`);

    let verifyS: number | undefined;
    if (process.env.BENCH_REPORT_VERIFY) {
      const t2 = performance.now();
      const mismatches = await verifyRollups(db);
      verifyS = +((performance.now() - t2) / 1000).toFixed(1);
      console.log(`reports: nightly check (recompute from raw history) ${verifyS} s, mismatches ${JSON.stringify(mismatches)}`);
    }
    const figures = { rows, city_ms: cityTime.median, district_ms: districtTime.median, school_ms: schoolTime.median, load_s: +loadS.toFixed(1), rollup_s: +rollupS.toFixed(1), schools: cityReport.schools.length, ...(verifyS !== undefined ? { verify_s: verifyS } : {}) };
    console.log(JSON.stringify(figures));
    return figures;
  },
};
