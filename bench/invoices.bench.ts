import type { Knex } from 'knex';
import { systemClock } from '../src/lib/clock';
import { executeInvoiceRun } from '../src/modules/invoices/invoices.service';
import type { Benchmark } from './harness';

/**
 * Invoice generation at scale: one school with 100,000 students (loaded set-based with
 * generate_series, not through the API), five mandatory items per plan, a month with 23 school
 * days; times executeInvoiceRun end to end (read inputs, price in memory, write invoices and lines).
 */
export async function benchInvoices(db: Knex, students = 100_000): Promise<Record<string, number | string>> {
  const load = performance.now();
  await db.raw(`
    INSERT INTO cities (code, name) VALUES ('BENCH', 'Bench city');
    INSERT INTO districts (city_id, code, name) SELECT id, 'B1', 'Bench district' FROM cities WHERE code = 'BENCH';
    INSERT INTO academic_years (code, starts_on, ends_on) VALUES ('2030-2031', '2030-09-05', '2031-05-31') ON CONFLICT DO NOTHING;
    INSERT INTO schools (code, name, level, district_id, tax_code, address)
      SELECT 'BENCH-1', 'Trường Bench', 'multi_level', id, '0300000000', 'Bench' FROM districts WHERE code = 'B1';
    INSERT INTO people (personal_id, full_name, date_of_birth, gender)
      SELECT '079215' || lpad((500000 + n)::text, 6, '0'), 'Học Sinh ' || n, '2015-06-01', 'male' FROM generate_series(1, ${students}) n;
    INSERT INTO classes (school_id, academic_year_id, grade, name)
      SELECT s.id, ay.id, 1 + (k % 9), 'Lớp ' || k FROM schools s, academic_years ay, generate_series(0, ${Math.ceil(students / 40) - 1}) k
      WHERE s.code = 'BENCH-1' AND ay.code = '2030-2031';
    INSERT INTO enrollments (school_id, class_id, person_id, enrolled_on)
      SELECT s.id, c.id, p.id, '2030-09-05'
      FROM schools s
      JOIN LATERAL (SELECT id, substr(personal_id, 7)::int - 500001 AS n FROM people WHERE personal_id BETWEEN '079215500001' AND '079215${String(500000 + students).padStart(6, '0')}') p ON true
      JOIN classes c ON c.school_id = s.id AND c.name = 'Lớp ' || (p.n / 40)
      WHERE s.code = 'BENCH-1';
    INSERT INTO fee_items (school_id, code, name, unit, document_kind, exemptible, optional, revenue_code)
      SELECT s.id, v.code, v.name, v.unit, 'receipt', false, false, v.code FROM schools s,
      (VALUES ('TIEN_AN', 'Tiền ăn bán trú', 'school_day'), ('PV_BAN_TRU', 'Phục vụ bán trú', 'month'), ('VS_BAN_TRU', 'Vệ sinh bán trú', 'month'),
              ('HOC_2_BUOI', 'Tổ chức dạy học 2 buổi/ngày', 'month'), ('NUOC_UONG', 'Nước uống', 'month')) v(code, name, unit)
      WHERE s.code = 'BENCH-1';
    INSERT INTO fee_plans (school_id, academic_year_id, grade, name)
      SELECT s.id, ay.id, g, 'Khối ' || g FROM schools s, academic_years ay, generate_series(1, 9) g WHERE s.code = 'BENCH-1' AND ay.code = '2030-2031';
    INSERT INTO fee_plan_versions (school_id, plan_id, version, effective_from) SELECT school_id, id, 1, '2030-09-05' FROM fee_plans p WHERE p.school_id = (SELECT id FROM schools WHERE code = 'BENCH-1');
    INSERT INTO fee_plan_version_items (school_id, version_id, fee_item_id, amount_vnd)
      SELECT v.school_id, v.id, f.id, CASE f.code WHEN 'TIEN_AN' THEN 35000 WHEN 'PV_BAN_TRU' THEN 250000 WHEN 'VS_BAN_TRU' THEN 50000 WHEN 'HOC_2_BUOI' THEN 150000 ELSE 12000 END
      FROM fee_plan_versions v JOIN fee_items f ON f.school_id = v.school_id WHERE v.school_id = (SELECT id FROM schools WHERE code = 'BENCH-1');
    INSERT INTO school_days (school_id, day)
      SELECT s.id, d::date FROM schools s, generate_series('2030-10-01'::date, '2030-10-31'::date, '1 day') d
      WHERE s.code = 'BENCH-1' AND extract(isodow FROM d) < 6;
    ANALYZE;
  `);
  const loadSeconds = (performance.now() - load) / 1000;
  const school = await db('schools').where({ code: 'BENCH-1' }).first<{ id: string }>('id');
  const creator = await db('people').first<{ id: string }>('id');
  const [run] = await db('invoice_runs')
    .insert({ school_id: school.id, period_kind: 'month', period_label: 'Tháng 10/2030', period_start: '2030-10-01', period_end: '2030-10-31', due_on: '2030-10-15', created_by: creator.id })
    .returning<{ id: string }[]>('id');

  const started = performance.now();
  const result = await executeInvoiceRun(db, systemClock, school.id, run!.id);
  const seconds = (performance.now() - started) / 1000;
  const lines = await db('invoice_lines').where({ school_id: school.id }).count<{ count: string }[]>('* as count');
  if (result.done !== students || result.failed !== 0) throw new Error(`run ended ${result.status} with ${result.done} done, ${result.failed} failed`);
  console.log(`invoices: loaded ${students} students in ${loadSeconds.toFixed(1)} s; generated ${result.done} invoices with ${lines[0]!.count} lines in ${seconds.toFixed(2)} s (${Math.round(students / seconds)} invoices/s)`);
  const rows = students + Number(lines[0]!.count);
  return { bench: 'invoices', students, seconds: +seconds.toFixed(2), invoices_per_s: Math.round(students / seconds), lines: Number(lines[0]!.count), rows_per_s: Math.round(rows / seconds) };
}

/** A bulk path: rows written per second (invoices and their lines), beside the raw COPY rate. */
export const benchmark: Benchmark = {
  name: 'invoices',
  kind: 'bulk',
  rate: 'rows_per_s',
  run: (ctx) => benchInvoices(ctx.db),
};
