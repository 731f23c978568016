import { Workbook } from 'exceljs';
import request from 'supertest';
import type { Provider, SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { SIGNERS } from '../../src/integrations/banks';
import { createLogger } from '../../src/logger';
import { scheduledJobs } from '../../src/jobs';
import { createHash } from 'node:crypto';
import { createScheduler } from '../../src/jobs/scheduler';
import { canonicalJson } from '../../src/modules/reports/render';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { compactRollups, verifyRollups } from '../../src/modules/reports/rollups.service';
import { settleRequestedReceiptIssuing } from '../../src/modules/receipts/receipt-issuing.service';
import type { MonthlyRevenueReport } from '../../src/modules/reports/reports.types';
import { demoGuardians } from '../../seeds/demo-data';
import { billPeriod, demoSchool, financeOfficer } from '../factories/demo';
import { expectContract } from '../support/contract';
import { fingerprint } from '../support/db-fingerprint';
import { pdfText } from '../support/pdf-text';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The finance reports: figures that tie out with the raw history for a seeded month, per school and
 * rolled up to the district and the city; ageing and defaulters; who may see what; and month-end
 * close, after which nothing dated in the month changes and late events land in the next month.
 *
 * Timeline: October 2026 is billed and partly paid in October; November is billed on 3 November,
 * when October is closed; a late callback for October arrives on 5 November.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>; // Q12, Trường Tiểu học Nguyễn Trãi
let other: Awaited<ReturnType<typeof demoSchool>>; // NB, another district
const endpoints = new Map<string, { id: string; secret: string }>();
let accountNumber: string;
let seq = 0;

const at = (iso: string) => app.clock.set(new Date(iso));
const auth = (personalId: string) => ({ Authorization: `Bearer ${app.tokenFor(personalId)}` });
const get = (path: string, personalId: string) => request(app.baseUrl).get(path).set(auth(personalId));
const schoolRevenue = (month: string, who = school.accountant) => get(`/v1/reports/schools/${school.id}/revenue?month=${month}`, who);

async function issueMonth(schoolId: string, accountant: string, month: string): Promise<void> {
  await billPeriod(app, schoolId, accountant, { kind: 'month', month });
}

async function deliver(provider: Provider, over: Partial<SimTransfer>) {
  seq++;
  const t: SimTransfer = { externalId: `RPT${seq}`, amountVnd: 100_000, accountNumber, description: 'chuyen tien', occurredAt: app.clock.now(), bankReference: `FTRPT${seq}`, payerName: 'NGUYEN VAN A', ...over };
  const e = endpoints.get(provider)!;
  const signed = SIGNERS[provider](t, e.secret, app.clock.now());
  const path = `/callbacks/${provider}/${e.id}`;
  const res = signed.method === 'GET' ? await request(app.baseUrl).get(path).query(signed.query!).set(signed.headers) : await request(app.baseUrl).post(path).set(signed.headers).send(signed.body ?? '');
  expect(res.status).toBe(200);
  await settleRequestedReceiptIssuing(app.db);
}

async function payManually(paymentCode: string, amountVnd: number) {
  const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments`).set(auth(school.accountant)).send({ payment_code: paymentCode, amount_vnd: amountVnd, reason: 'Phụ huynh nộp tiền mặt tại trường' });
  expect(res.status).toBe(201);
  await settleRequestedReceiptIssuing(app.db);
}

const openInvoices = (month: string) =>
  app.db('invoices').where({ school_id: school.id, period_start: `${month}-01` }).whereIn('status', ['open']).orderBy('id')
    .select<{ id: string; person_id: string; payment_code: string; total_vnd: string }[]>('id', 'person_id', 'payment_code', 'total_vnd');

/** Receivables now, straight from the invoices: what every issued invoice still asks. */
async function receivables(schoolIds: string[]): Promise<number> {
  const [row] = await app.db('invoices').whereIn('school_id', schoolIds).whereIn('status', ['open', 'partially_paid', 'paid'])
    .select(app.db.raw('coalesce(sum(total_vnd - credited_vnd - paid_vnd), 0)::bigint AS v'));
  return Number(row.v);
}

/** Money allocated to invoices from payments that occurred in the month, straight from the rows. */
async function allocatedInMonth(schoolIds: string[], month: string): Promise<number> {
  const { rows } = await app.db.raw(
    `SELECT coalesce(sum(a.amount_vnd), 0)::bigint AS v FROM allocations a JOIN payments p ON p.school_id = a.school_id AND p.id = a.payment_id
      WHERE a.school_id = ANY(?) AND to_char(p.occurred_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM') = ?`,
    [schoolIds, month],
  );
  return Number(rows[0].v);
}

let octoberEndReceivables: number;
let octoberEndCityReceivables: number;
let exempted: { personId: string; invoiceId: string };
let partial: { invoiceId: string; paid: number };

beforeAll(async () => {
  app = await startTestApp({ now: new Date('2026-09-20T03:00:00Z') });
  school = await demoSchool(app.db, 3);
  other = await demoSchool(app.db, 0);
  const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
  accountNumber = account.account_number;
  for (const e of await app.db('bank_endpoints').where({ school_id: school.id, collection_account_id: account.id }).select('id', 'secret', 'provider')) endpoints.set(e.provider, e);

  // Tuition is free in the demo; this school charges 300,000 a month here, so exemptions matter.
  await app.db('fee_plan_version_items').where({ school_id: school.id })
    .whereIn('fee_item_id', app.db('fee_items').where({ school_id: school.id, code: 'HOC_PHI' }).select('id')).update({ amount_vnd: 300_000 });
  const student = await app.db('enrollments as e').join('people as p', 'p.id', 'e.person_id').where('e.school_id', school.id).orderBy('p.personal_id').first('p.id', 'p.personal_id');
  const proposed = await request(app.baseUrl).post(`/v1/schools/${school.id}/exemptions`).set(auth(school.accountant))
    .send({ personal_id: student.personal_id, category: 'orphan', percent: 100, valid_from: '2026-09-01', valid_to: '2027-05-31', evidence_ref: 'QĐ 12/2026' });
  expect(proposed.status).toBe(201);
  expect((await request(app.baseUrl).post(`/v1/schools/${school.id}/exemptions/${proposed.body.id}/approve`).set(auth(school.admin)).send({})).status).toBe(200);

  // October: billed on the 2nd, paid through three channels, one payment left in suspense.
  at('2026-10-02T03:00:00Z');
  await issueMonth(school.id, school.accountant, '2026-10');
  await issueMonth(other.id, other.accountant, '2026-10');
  // Invoices to pay, never the exempt student's (its test needs it unpaid; ids are random, so the
  // order would otherwise pick it now and then).
  const inv = (await openInvoices('2026-10')).filter((i) => i.person_id !== student.id);
  exempted = { personId: student.id, invoiceId: (await app.db('invoices').where({ school_id: school.id, person_id: student.id, period_start: '2026-10-01' }).first()).id };
  at('2026-10-06T03:00:00Z');
  await deliver('sepay', { amountVnd: Number(inv[0]!.total_vnd), description: `HP ${inv[0]!.payment_code}`, paymentCode: inv[0]!.payment_code });
  await deliver('direct', { amountVnd: Number(inv[1]!.total_vnd), description: `HP ${inv[1]!.payment_code}`, paymentCode: inv[1]!.payment_code });
  await payManually(inv[2]!.payment_code, 200_000);
  partial = { invoiceId: inv[2]!.id, paid: 200_000 };
  await deliver('sepay', { amountVnd: 77_000, description: 'chuyen tien khong ro noi dung' }); // unattributed: an open exception
  at('2026-10-31T16:59:00Z'); // 23:59 on 31 October in Vietnam
  octoberEndReceivables = await receivables([school.id]);
  const cityIds = (await app.db('schools').pluck('id')) as string[];
  octoberEndCityReceivables = await receivables(cityIds);

  // November: billed on the 3rd; two more October invoices paid in November.
  at('2026-11-03T03:00:00Z');
  await issueMonth(school.id, school.accountant, '2026-11');
  await deliver('vnpay', { amountVnd: Number(inv[3]!.total_vnd), description: `HP ${inv[3]!.payment_code}`, paymentCode: inv[3]!.payment_code });
  await payManually(inv[4]!.payment_code, Number(inv[4]!.total_vnd));
}, 120_000);
afterAll(() => app.close());
afterEach(async () => {
  expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
  // The triggers and a recomputation from the raw history agree, whatever the test did.
  expect(await verifyRollups(app.db)).toEqual({ report_fee_item_months: 0, report_collection_months: 0, report_school_months: 0, report_receipt_months: 0 });
});

describe('GET /v1/reports/schools/{school_id}/revenue', () => {
  test('October ties out: collected is what October payments allocated, and net billed - collected is the change in receivables', async () => {
    const res = await schoolRevenue('2026-10');
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/reports/schools/{school_id}/revenue');
    const r = res.body as MonthlyRevenueReport;
    expect(r.scope).toMatchObject({ level: 'school', school_id: school.id, district_code: 'Q12', province_code: 'HCM' });
    expect(r.closed).toBe(false);
    const t = r.totals;
    expect(t.collected_vnd).toBe(await allocatedInMonth([school.id], '2026-10'));
    expect(t.collected_by_channel_vnd.qr_transfer).toBeGreaterThan(0);
    expect(t.collected_by_channel_vnd.manual).toBe(200_000);
    expect(t.collected_by_channel_vnd.vnpay).toBe(0);
    // Nothing was owed before October, so October's change is the month-end balance.
    expect(t.net_billed_vnd - (t.credit_notes_vnd ?? 0) - t.collected_vnd - (t.credit_applied_vnd ?? 0)).toBe(octoberEndReceivables);
    expect(t.outstanding_vnd).toBe(octoberEndReceivables);
    expect(t.net_billed_vnd).toBe(t.billed_vnd - t.exempted_vnd - t.discounted_vnd);
    // The exemption: 100 % of the tuition of one student.
    expect(t.exempted_vnd).toBe(300_000);
    const tuition = r.fee_items.find((f) => f.fee_item_code === 'HOC_PHI')!;
    expect(tuition.exempted_vnd).toBe(300_000);
    // Fee items add up to the totals.
    expect(r.fee_items.reduce((s, f) => s + f.billed_vnd, 0)).toBe(t.billed_vnd);
    expect(r.fee_items.reduce((s, f) => s + f.collected_vnd, 0)).toBe(t.collected_vnd);
    // Receipts were issued for October's payments; the unattributed transfer is an open exception.
    expect(r.receipts.reduce((s, x) => s + x.issued_count, 0)).toBeGreaterThan(0);
    expect(r.reconciliation).toEqual({ open_exceptions: 1, open_exceptions_vnd: 77_000 });
  });

  test('November ties out with the change in receivables since the end of October', async () => {
    const res = await schoolRevenue('2026-11');
    expect(res.status).toBe(200);
    const t = (res.body as MonthlyRevenueReport).totals;
    expect(t.collected_vnd).toBe(await allocatedInMonth([school.id], '2026-11'));
    expect(t.collected_by_channel_vnd.vnpay).toBeGreaterThan(0);
    const now = await receivables([school.id]);
    expect(t.outstanding_vnd).toBe(now);
    expect(t.net_billed_vnd - (t.credit_notes_vnd ?? 0) - t.collected_vnd - (t.credit_applied_vnd ?? 0)).toBe(now - octoberEndReceivables);
  });

  test('a finance officer of the district sees it; a guardian and an officer of another district get 404', async () => {
    expect((await schoolRevenue('2026-10', financeOfficer('Q12'))).status).toBe(200);
    const outside = await schoolRevenue('2026-10', financeOfficer('NB'));
    expect([outside.status, outside.body.error.code]).toEqual([404, 'SCHOOL_NOT_FOUND']);
    const guardian = await schoolRevenue('2026-10', demoGuardians()[0]!.father.personalId);
    expect([guardian.status, guardian.body.error.code]).toEqual([404, 'SCHOOL_NOT_FOUND']);
  });

  test('a month in the future is refused with 422 MONTH_IN_FUTURE; a malformed one with 400', async () => {
    const future = await schoolRevenue('2026-12');
    expect([future.status, future.body.error.code]).toEqual([422, 'MONTH_IN_FUTURE']);
    expectContract(future, 'get', '/v1/reports/schools/{school_id}/revenue');
    const bad = await schoolRevenue('2026-13');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  });
});

describe('district and city roll-ups', () => {
  test('the district report is the sum of its schools, each as in its own report', async () => {
    const res = await get('/v1/reports/districts/Q12/revenue?month=2026-10', financeOfficer('Q12'));
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/reports/districts/{district_code}/revenue');
    const r = res.body as MonthlyRevenueReport;
    expect(r.scope).toMatchObject({ level: 'district', district_code: 'Q12', district_name: 'Quận 12' });
    const ids = r.schools.map((s) => s.school_id);
    expect(ids).toContain(school.id);
    expect(r.schools.every((s) => s.district_code === 'Q12')).toBe(true);
    for (const key of ['billed_vnd', 'net_billed_vnd', 'collected_vnd', 'outstanding_vnd'] as const) {
      expect(r.schools.reduce((s, x) => s + x[key], 0)).toBe(r.totals[key]);
    }
    const own = (await schoolRevenue('2026-10')).body as MonthlyRevenueReport;
    expect(r.schools.find((s) => s.school_id === school.id)).toMatchObject({ collected_vnd: own.totals.collected_vnd, outstanding_vnd: own.totals.outstanding_vnd, billed_vnd: own.totals.billed_vnd });
    expect(r.totals.collected_vnd).toBe(await allocatedInMonth(ids, '2026-10'));
  });

  test('the city report covers every school; October ties out city-wide', async () => {
    const res = await get('/v1/reports/cities/HCM/revenue?month=2026-10', financeOfficer(null));
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/reports/cities/{city_code}/revenue');
    const r = res.body as MonthlyRevenueReport;
    expect(r.schools).toHaveLength(6);
    const t = r.totals;
    expect(t.outstanding_vnd).toBe(octoberEndCityReceivables);
    expect(t.net_billed_vnd - (t.credit_notes_vnd ?? 0) - t.collected_vnd - (t.credit_applied_vnd ?? 0)).toBe(octoberEndCityReceivables);
    expect(t.collected_vnd).toBe(await allocatedInMonth(r.schools.map((s) => s.school_id), '2026-10'));
  });

  test('a district outside the officer\'s scope, an unknown district, and the city for a district officer answer 404', async () => {
    const outside = await get('/v1/reports/districts/NB/revenue?month=2026-10', financeOfficer('Q12'));
    expect([outside.status, outside.body.error.code]).toEqual([404, 'DISTRICT_NOT_FOUND']);
    expectContract(outside, 'get', '/v1/reports/districts/{district_code}/revenue');
    expect((await get('/v1/reports/districts/XX/revenue?month=2026-10', financeOfficer(null))).status).toBe(404);
    expect((await get('/v1/reports/districts/Q12/revenue?month=2026-10', school.admin)).status).toBe(404);
    const city = await get('/v1/reports/cities/HCM/revenue?month=2026-10', financeOfficer('Q12'));
    expect([city.status, city.body.error.code]).toEqual([404, 'CITY_NOT_FOUND']);
    // The city officer sees every district.
    expect((await get('/v1/reports/districts/NB/revenue?month=2026-10', financeOfficer(null))).status).toBe(200);
  });
});

describe('ageing and defaulters', () => {
  test('ageing on 3 November: October\'s invoices (due 15 October) are 1-30 days past due, November\'s are current; groups add up', async () => {
    const res = await get(`/v1/reports/schools/${school.id}/ageing?as_of=2026-11-03`, school.accountant);
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/reports/schools/{school_id}/ageing');
    const rows = res.body.rows as { group: string; total_vnd: number; current: number; days_1_30: number; days_31_60: number }[];
    const owed = async (period: string) => Number((await app.db('invoices').where({ school_id: school.id, period_start: period }).whereIn('status', ['open', 'partially_paid'])
      .select(app.db.raw('coalesce(sum(total_vnd - credited_vnd - paid_vnd), 0)::bigint AS v')))[0].v);
    const schoolRow = rows.find((r) => r.group === 'school')!;
    expect(schoolRow.days_1_30).toBe(await owed('2026-10-01'));
    expect(schoolRow.current).toBe(await owed('2026-11-01'));
    expect(schoolRow.days_31_60).toBe(0);
    expect(res.body.totals.total_vnd).toBe(await receivables([school.id]));
    for (const group of ['class', 'fee_item']) {
      expect(rows.filter((r) => r.group === group).reduce((s, r) => s + r.total_vnd, 0)).toBe(schoolRow.total_vnd);
    }
  });

  test('ageing as of the end of October equals October\'s month-end receivables (history, not today\'s figures)', async () => {
    const res = await get(`/v1/reports/schools/${school.id}/ageing?as_of=2026-10-31`, school.accountant);
    expect(res.status).toBe(200);
    expect(res.body.totals.total_vnd).toBe(octoberEndReceivables);
    expect(res.body.totals.days_1_30).toBe(octoberEndReceivables);
  });

  test('district ageing for its officer; a future day is 422 DATE_IN_FUTURE', async () => {
    const res = await get('/v1/reports/districts/Q12/ageing?as_of=2026-11-03', financeOfficer('Q12'));
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/reports/districts/{district_code}/ageing');
    expect((await get('/v1/reports/cities/HCM/ageing', financeOfficer(null))).status).toBe(200);
    const future = await get(`/v1/reports/schools/${school.id}/ageing?as_of=2026-12-01`, school.accountant);
    expect([future.status, future.body.error.code]).toEqual([422, 'DATE_IN_FUTURE']);
  });

  test('defaulters: a partial payment lowers what is owed, paid invoices are absent, and the exempt student owes only the non-exempt items', async () => {
    const res = await get(`/v1/reports/schools/${school.id}/defaulters?as_of=2026-11-03`, school.accountant);
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/reports/schools/{school_id}/defaulters');
    const rows = res.body.rows as { invoice_id: string; net_vnd: number; paid_vnd: number; outstanding_vnd: number; days_past_due: number; personal_id: string }[];
    const part = rows.find((r) => r.invoice_id === partial.invoiceId)!;
    expect(part).toMatchObject({ paid_vnd: partial.paid, days_past_due: 19 });
    expect(part.outstanding_vnd).toBe(part.net_vnd - partial.paid);
    const paidIds = await app.db('invoices').where({ school_id: school.id, status: 'paid' }).pluck('id');
    expect(rows.filter((r) => paidIds.includes(r.invoice_id))).toEqual([]);
    // November's invoices are not yet due.
    expect(rows.every((r) => r.days_past_due > 0)).toBe(true);
    const ex = rows.find((r) => r.invoice_id === exempted.invoiceId)!;
    const exInvoice = await app.db('invoice_lines').where({ school_id: school.id, invoice_id: exempted.invoiceId }).select('gross_vnd', 'exemption_vnd', 'total_vnd');
    expect(ex.net_vnd).toBe(exInvoice.reduce((s, l) => s + Number(l.total_vnd), 0));
    expect(exInvoice.some((l) => Number(l.exemption_vnd) === 300_000)).toBe(true);
    // Staff of the school see full personal IDs; a finance officer sees them masked.
    expect(rows[0]!.personal_id).toMatch(/^\d{12}$/);
    const masked = await get(`/v1/reports/schools/${school.id}/defaulters?as_of=2026-11-03`, financeOfficer('Q12'));
    expect(masked.body.rows[0].personal_id).toMatch(/^\d{3}\*{6}\d{3}$/);
  });
});

describe('POST /v1/schools/{school_id}/months/{month}/close', () => {
  const close = (month: string, body: object = {}, who = school.admin) => request(app.baseUrl).post(`/v1/schools/${school.id}/months/${month}/close`).set(auth(who)).send(body);

  test('refused while a reconciliation exception of the month is open, then closed with an override reason; the snapshot is stored and served byte for byte', async () => {
    const before = await fingerprint(app.db);
    const refused = await close('2026-10');
    expect([refused.status, refused.body.error.code]).toEqual([409, 'RECONCILIATION_EXCEPTIONS_OPEN']);
    expectContract(refused, 'post', '/v1/schools/{school_id}/months/{month}/close');
    expect(await fingerprint(app.db)).toEqual(before);

    const byAccountant = await close('2026-10', { override_reason: 'Khoản treo đã báo ngân hàng' }, school.accountant);
    expect([byAccountant.status, byAccountant.body.error.code]).toEqual([403, 'ROLE_REQUIRED']);

    const live = (await schoolRevenue('2026-10')).body as MonthlyRevenueReport;
    const closed = await close('2026-10', { override_reason: 'Khoản treo 77.000 đ đã báo ngân hàng, xử lý tháng sau' });
    expect(closed.status).toBe(201);
    expectContract(closed, 'post', '/v1/schools/{school_id}/months/{month}/close');
    expect(closed.body).toMatchObject({ school_id: school.id, month: '2026-10', open_exceptions: 1, override_reason: expect.any(String) });
    expect(await app.db('audit_events').where({ school_id: school.id, action: 'month.closed' }).count('* as n')).toEqual([{ n: '1' }]);

    const first = await schoolRevenue('2026-10');
    expect(first.status).toBe(200);
    expectContract(first, 'get', '/v1/reports/schools/{school_id}/revenue');
    const snapshot = first.body as MonthlyRevenueReport;
    expect(snapshot.closed).toBe(true);
    expect(snapshot.totals).toEqual(live.totals);
    // The hash is of the canonical document without its snapshot block.
    expect(createHash('sha256').update(canonicalJson({ ...snapshot, snapshot: null })).digest('hex')).toBe(snapshot.snapshot!.sha256);
    expect(snapshot.snapshot!.sha256).toBe(closed.body.report_sha256);
    const again = await schoolRevenue('2026-10');
    expect(Buffer.compare(Buffer.from(again.text), Buffer.from(first.text))).toBe(0);
  });

  test('closing twice is 409 MONTH_ALREADY_CLOSED; the current or a future month is 422 MONTH_NOT_ENDED; nothing is written', async () => {
    const before = await fingerprint(app.db);
    const twice = await close('2026-10', { override_reason: 'Đóng lại lần nữa' });
    expect([twice.status, twice.body.error.code]).toEqual([409, 'MONTH_ALREADY_CLOSED']);
    const current = await close('2026-11');
    expect([current.status, current.body.error.code]).toEqual([422, 'MONTH_NOT_ENDED']);
    expectContract(current, 'post', '/v1/schools/{school_id}/months/{month}/close');
    const future = await close('2027-01');
    expect([future.status, future.body.error.code]).toEqual([422, 'MONTH_NOT_ENDED']);
    const outside = await request(app.baseUrl).post(`/v1/schools/${other.id}/months/2026-10/close`).set(auth(school.admin)).send({});
    expect([outside.status, outside.body.error.code]).toEqual([404, 'SCHOOL_NOT_FOUND']);
    expect(await fingerprint(app.db)).toEqual(before);
  });

  test('a late callback dated in the closed October lands in November with a reference to October; October\'s bytes never change', async () => {
    const october = await schoolRevenue('2026-10');
    const novemberBefore = (await schoolRevenue('2026-11')).body as MonthlyRevenueReport;
    at('2026-11-05T03:00:00Z');
    const inv = (await openInvoices('2026-10'))[0]!;
    await deliver('sepay', { amountVnd: Number(inv.total_vnd), description: `HP ${inv.payment_code}`, paymentCode: inv.payment_code, occurredAt: new Date('2026-10-31T09:00:00Z') });
    const payment = await app.db('payments').where({ school_id: school.id, payment_code: inv.payment_code }).first();
    const moved = await app.db('report_period_moves').where({ school_id: school.id, source_kind: 'allocation' })
      .whereIn('source_id', app.db('allocations').where({ school_id: school.id, payment_id: payment.id }).select('id')).select('concerns_month', 'month');
    expect(moved).toEqual([{ concerns_month: '2026-10-01', month: '2026-11-01' }]);

    const after = await schoolRevenue('2026-10');
    expect(after.text).toBe(october.text);
    const november = (await schoolRevenue('2026-11')).body as MonthlyRevenueReport;
    expect(november.totals.collected_vnd).toBe(novemberBefore.totals.collected_vnd + Number(inv.total_vnd));
    expect(november.late_events).toEqual([{ concerns_month: '2026-10', events: 1 }]);
    // Still tied out: November absorbs the late payment.
    const t = november.totals;
    expect(t.net_billed_vnd - (t.credit_notes_vnd ?? 0) - t.collected_vnd - (t.credit_applied_vnd ?? 0)).toBe((await receivables([school.id])) - octoberEndReceivables);
  });

  test('voiding an invoice issued in the closed month is refused with 409 PERIOD_CLOSED, nothing written', async () => {
    const inv = (await openInvoices('2026-10'))[0]!;
    const before = await fingerprint(app.db);
    const res = await request(app.baseUrl).post(`/v1/invoices/${inv.id}/void`).set(auth(school.accountant)).send({ reason: 'Lập nhầm hóa đơn' });
    expect([res.status, res.body.error.code]).toEqual([409, 'PERIOD_CLOSED']);
    expect(await fingerprint(app.db)).toEqual(before);
    // The database refuses it too, whoever writes.
    await expect(app.db('invoices').where({ id: inv.id }).update({ status: 'void', voided_at: app.clock.now(), void_reason: 'x' })).rejects.toMatchObject({ code: 'RP001' });
    await expect(app.db('report_school_months').where({ school_id: school.id, month: '2026-10-01' }).update({ refunded_vnd: 1 })).rejects.toMatchObject({ code: 'RP001' });
    await expect(app.db('closed_months').where({ school_id: school.id }).delete()).rejects.toThrow();
  });

  test('the nightly report-rollups job recomputes the roll-ups from the raw history and records no mismatch', async () => {
    const scheduler = createScheduler({ db: app.db, clock: app.clock, logger: createLogger('silent') }, scheduledJobs({ bankEventRetryMs: 60_000, statementApi: { baseUrl: app.baseUrl, keyId: 'x', secret: 'x'.repeat(16) } }));
    const run = await scheduler.runFire('report-rollups', new Date('2026-11-04T20:15:00Z'), 'manual');
    expect(run).toMatchObject({ status: 'succeeded', result: { mismatches: 0 } });
    // The check is not vacuous: a figure changed behind the triggers' back is found.
    await app.db('report_school_months').where({ school_id: school.id, month: '2026-11-01' }).increment('refunded_vnd', 1);
    expect((await verifyRollups(app.db, [school.id])).report_school_months).toBe(1);
    await app.db('report_school_months').where({ school_id: school.id, month: '2026-11-01' }).decrement('refunded_vnd', 1);
  });
});

describe('credit notes and credit', () => {
  test('a credit note on a paid October invoice moves its money to credit in November; the month still ties out and the credit balance is the ledger\'s', async () => {
    at('2026-11-06T03:00:00Z');
    const before = (await schoolRevenue('2026-11')).body as MonthlyRevenueReport;
    const receivablesBefore = await receivables([school.id]);
    const paidInvoice = await app.db('invoices').where({ school_id: school.id, period_start: '2026-10-01', status: 'paid' }).whereNot({ id: exempted.invoiceId }).orderBy('id').first();
    const note = await request(app.baseUrl).post(`/v1/invoices/${paidInvoice.id}/credit-notes`).set(auth(school.accountant)).send({ amount_vnd: 100_000, reason: 'Giảm tiền ăn do nghỉ học' });
    expect(note.status).toBe(201);
    const after = (await schoolRevenue('2026-11')).body as MonthlyRevenueReport;
    expect(after.totals.credit_notes_vnd! - before.totals.credit_notes_vnd!).toBe(100_000);
    // The paid part goes back to credit: a negative allocation from credit, receivables unchanged.
    expect(after.totals.credit_applied_vnd! - before.totals.credit_applied_vnd!).toBe(-100_000);
    expect(after.totals.outstanding_vnd - before.totals.outstanding_vnd).toBe((await receivables([school.id])) - receivablesBefore);
    const t = after.totals;
    expect(t.net_billed_vnd - t.credit_notes_vnd! - t.collected_vnd - t.credit_applied_vnd!).toBe((await receivables([school.id])) - octoberEndReceivables);
    const [credit] = await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'credit' }).select(app.db.raw('coalesce(-sum(amount_vnd), 0)::bigint AS v'));
    expect(t.credit_balance_vnd).toBe(Number(credit.v));
    expect(t.credit_balance_vnd).toBeGreaterThanOrEqual(100_000);
  });
});

describe('the report as files (format=csv|xlsx|pdf)', () => {
  const file = (path: string, who: string) => request(app.baseUrl).get(path).set(auth(who)).buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });

  test('the XLSX opens and its totals equal the JSON; the CSV has a BOM; the PDF has the Vietnamese headings', async () => {
    const json = (await get('/v1/reports/districts/Q12/revenue?month=2026-11', financeOfficer('Q12'))).body as MonthlyRevenueReport;
    const xlsx = await file('/v1/reports/districts/Q12/revenue?month=2026-11&format=xlsx', financeOfficer('Q12'));
    expect(xlsx.status).toBe(200);
    expect(xlsx.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(xlsx.headers['content-disposition']).toMatch(/^attachment; filename=".+\.xlsx"$/);
    const wb = new Workbook();
    await wb.xlsx.load(xlsx.body as unknown as ArrayBuffer);
    const items = wb.getWorksheet('Theo khoản thu')!;
    const header = (items.getRow(1).values as unknown[]).slice(1);
    const rows: unknown[][] = [];
    items.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    const total = rows.at(-1)!;
    expect(total[header.indexOf('Đã thu')]).toBe(json.totals.collected_vnd);
    expect(total[header.indexOf('Phải thu (chưa trừ miễn giảm)')]).toBe(json.totals.billed_vnd);
    expect(wb.getWorksheet('Chi tiết theo trường')!.rowCount).toBeGreaterThanOrEqual(json.schools.length + 1);

    const csv = await file(`/v1/reports/schools/${school.id}/revenue?month=2026-11&format=csv`, school.accountant);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect([...csv.body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(csv.body.toString('utf8')).toContain('Theo kênh thanh toán');

    const pdf = await file(`/v1/reports/schools/${school.id}/revenue?month=2026-11&format=pdf`, school.accountant);
    expect(pdf.status).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    const text = (await pdfText(pdf.body)).normalize('NFC');
    expect(text).toContain('BÁO CÁO THU HỌC PHÍ THÁNG 11/2026');
    expect(text).toContain('Trường Tiểu học Nguyễn Trãi');

    const ageing = await file(`/v1/reports/schools/${school.id}/ageing?as_of=2026-11-03&format=xlsx`, school.accountant);
    expect(ageing.status).toBe(200);
    const defaulters = await file(`/v1/reports/schools/${school.id}/defaulters?as_of=2026-11-03&format=csv`, school.accountant);
    expect(defaulters.status).toBe(200);
  });

  test('a closed month\'s files are rendered from the snapshot: the same bytes on every download', async () => {
    for (const format of ['csv', 'xlsx', 'pdf']) {
      const first = await file(`/v1/reports/schools/${school.id}/revenue?month=2026-10&format=${format}`, school.accountant);
      const second = await file(`/v1/reports/schools/${school.id}/revenue?month=2026-10&format=${format}`, school.accountant);
      expect(first.status).toBe(200);
      expect(Buffer.compare(first.body, second.body)).toBe(0);
    }
  });
});

describe('compaction of the roll-ups', () => {
  test('the triggers append deltas; compaction leaves one row per key and the reports unchanged', async () => {
    const keys = async () => Number((await app.db.raw('SELECT count(*) AS n FROM (SELECT DISTINCT school_id, month FROM report_school_months) k')).rows[0].n);
    const rows = async () => Number((await app.db('report_school_months').count('* as n'))[0]!.n);
    expect(await rows()).toBeGreaterThan(await keys());
    const strip = (r: MonthlyRevenueReport) => ({ ...r, generated_at: null });
    const before = strip((await get('/v1/reports/cities/HCM/revenue?month=2026-11', financeOfficer(null))).body);
    const removed = await compactRollups(app.db);
    expect(removed.report_school_months).toBeGreaterThan(0);
    expect(await rows()).toBe(await keys());
    expect(strip((await get('/v1/reports/cities/HCM/revenue?month=2026-11', financeOfficer(null))).body)).toEqual(before);
    // Closed October was compacted when it closed and stays as it was.
    expect(Object.values(await compactRollups(app.db))).toEqual([0, 0, 0, 0]);
  });
});

