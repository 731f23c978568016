import request from 'supertest';
import { decodeVietQr } from '../../src/lib/vietqr';
import { isValidPaymentCode } from '../../src/lib/payment-code';
import { invoiceVietQr } from '../../src/modules/invoices/invoice-render';
import { executeInvoiceRun, loadInvoiceView } from '../../src/modules/invoices/invoices.service';
import { demoSchoolDays } from '../../seeds/demo-data';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';
import { countRows, demoSchool, financeOfficer } from '../factories/demo';

let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
let other: Awaited<ReturnType<typeof demoSchool>>;
beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 1); // primary, Nhà Bè: 10 classes of 36
  other = await demoSchool(app.db, 3);
});
afterAll(() => app.close());

const auth = (personalId: string) => ({ authorization: `Bearer ${app.tokenFor(personalId)}` });

async function waitForRun(schoolId: string, runId: string, personalId: string) {
  for (let i = 0; i < 200; i++) {
    const res = await request(app.baseUrl).get(`/v1/schools/${schoolId}/invoice-runs/${runId}`).set(auth(personalId));
    if (['succeeded', 'failed'].includes(res.body.status)) return res;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('run did not finish');
}

async function feeItemId(schoolId: string, code: string): Promise<string> {
  return (await app.db('fee_items').where({ school_id: schoolId, code }).first<{ id: string }>('id')).id;
}

describe('invoice generation for a month', () => {
  let runId: string;

  test('when an accountant starts a run, then it returns at once and finishes with one draft per student', async () => {
    const start = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs`).set(auth(school.accountant)).send({ period: 'month', month: '2026-12' });
    expect(start.status).toBe(202);
    runId = start.body.id;
    expectContract(start, 'post', '/v1/schools/{school_id}/invoice-runs');
    expect(start.headers.location).toBe(`/v1/schools/${school.id}/invoice-runs/${start.body.id}`);
    const done = await waitForRun(school.id, runId, school.accountant);
    expectContract(done, 'get', '/v1/schools/{school_id}/invoice-runs/{run_id}');
    expect(done.body).toMatchObject({ status: 'succeeded', total: 360, done: 360, failed: 0, errors: [] });
    expect(await app.db('invoices').where({ school_id: school.id, run_id: runId, status: 'draft' })).toHaveLength(360);
  });

  test('each invoice bills the month\'s items at the school-day count, and lines sum to the total', async () => {
    const decemberDays = demoSchoolDays().filter((d) => d.startsWith('2026-12')).length;
    const invoice = await app.db('invoices').where({ school_id: school.id, run_id: runId }).first<{ id: string; total_vnd: string }>();
    const lines = await app.db('invoice_lines as l').join('fee_items as f', (j) => j.on('f.school_id', '=', 'l.school_id').andOn('f.id', '=', 'l.fee_item_id')).where({ 'l.invoice_id': invoice.id }).select('f.code', 'l.quantity', 'l.total_vnd');
    const byCode = Object.fromEntries(lines.map((l) => [l.code, l]));
    // Monthly mandatory items, meals per school day; tuition is 0 (not billed), voluntary items need enrolment, BHYT is yearly.
    expect(Object.keys(byCode).sort()).toEqual(['HOC_2_BUOI', 'NUOC_UONG', 'PV_BAN_TRU', 'TIEN_AN', 'VS_BAN_TRU']);
    expect(byCode.TIEN_AN).toMatchObject({ quantity: decemberDays, total_vnd: String(35000 * decemberDays) });
    const sum = lines.reduce((s, l) => s + Number(l.total_vnd), 0);
    expect(Number(invoice.total_vnd)).toBe(sum);
    expect(sum).toBe(250000 + 50000 + 150000 + 12000 + 35000 * decemberDays);
  });

  test('when the same period is started again, then 409 and nothing new is written; re-executing the run adds nothing', async () => {
    const before = await countRows(app.db, 'invoices');
    const again = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs`).set(auth(school.accountant)).send({ period: 'month', month: '2026-12' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('PERIOD_ALREADY_GENERATED');
    // The natural key (school, plan version, student, period) is the backstop: a second run of the same period inserts nothing.
    // A run that a dead process left 'running' is taken over once stale, and inserts nothing new.
    await app.db('invoice_runs').where({ id: runId }).update({ status: 'running', started_at: new Date(app.clock.now().getTime() - 16 * 60 * 1000) });
    const resumed = await executeInvoiceRun(app.db, app.clock, school.id, runId);
    expect(resumed).toMatchObject({ status: 'succeeded', done: 360, failed: 0 });
    expect(await countRows(app.db, 'invoices')).toBe(before);
    // While a fresh executor holds it, a second executor leaves it alone.
    await app.db('invoice_runs').where({ id: runId }).update({ status: 'running', started_at: app.clock.now() });
    expect((await executeInvoiceRun(app.db, app.clock, school.id, runId)).status).toBe('running');
    await app.db('invoice_runs').where({ id: runId }).update({ status: 'succeeded' });
  });

  test('when drafts are issued, then they take consecutive numbers 1..N and get a VietQR that decodes to the invoice', async () => {
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs/${runId}/issue`).set(auth(school.accountant));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ issued: 360, first_number: 1, last_number: 360, series: 'HD-2026' });
    const numbers = await app.db('invoices').where({ school_id: school.id, run_id: runId }).orderBy('number').pluck('number');
    expect(numbers).toEqual(Array.from({ length: 360 }, (_, i) => i + 1));

    const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
    // Every invoice of the batch: encode, decode with its CRC checked, and compare with the invoice.
    const rows = await app.db('invoices').where({ school_id: school.id, run_id: runId }).select();
    for (const row of rows) {
      const payload = invoiceVietQr(await loadInvoiceView(app.db, row));
      expect(payload).not.toBeNull();
      expect(decodeVietQr(payload!)).toMatchObject({ bankBin: account.bank_bin, accountNumber: account.account_number, amountVnd: Number(row.total_vnd), billNumber: row.payment_code, purpose: `HP ${row.payment_code}` });
    }
    expect(new Set(rows.map((r) => r.payment_code)).size).toBe(rows.length);

    const ids = rows.map((r) => r.id);
    for (const id of ids.slice(0, 20)) {
      const inv = await request(app.baseUrl).get(`/v1/invoices/${id}`).set(auth(school.accountant));
      expect(inv.status).toBe(200);
      const qr = decodeVietQr(inv.body.vietqr_payload);
      expect(qr).toMatchObject({ initiation: 'dynamic', bankBin: account.bank_bin, accountNumber: account.account_number, amountVnd: inv.body.due_vnd, billNumber: inv.body.payment_code });
      expect(qr.purpose).toContain(inv.body.payment_code);
      expect(isValidPaymentCode(inv.body.payment_code)).toBe(true);
      expect(inv.body.payment_code.startsWith(await app.db('schools').where({ id: school.id }).first().then((s) => s.payment_code_prefix))).toBe(true);
    }
    const one = await request(app.baseUrl).get(`/v1/invoices/${ids[0]}`).set(auth(school.accountant));
    expectContract(one, 'get', '/v1/invoices/{invoice_id}');
    expect(one.body).toMatchObject({ status: 'open', paid_vnd: 0 });
    expect(one.body.due_vnd).toBe(one.body.total_vnd);
    expect(one.body.number).toMatch(/^HD-2026\/\d{6}$/);
    expect(one.body.student.personal_id_masked).toMatch(/^079\*{6}\d{3}$/);
  });

  test('the invoice is visible to the district finance officer, and 404 to another school\'s staff', async () => {
    const id = await app.db('invoices').where({ school_id: school.id, run_id: runId }).first().then((i) => i.id);
    expect((await request(app.baseUrl).get(`/v1/invoices/${id}`).set(auth(financeOfficer('NB')))).status).toBe(200);
    const outsider = await request(app.baseUrl).get(`/v1/invoices/${id}`).set(auth(other.accountant));
    expect(outsider.status).toBe(404);
    expect(outsider.body.error.code).toBe('INVOICE_NOT_FOUND');
  });

  test('the QR comes as PNG and SVG', async () => {
    const id = await app.db('invoices').where({ school_id: school.id, run_id: runId }).first().then((i) => i.id);
    const png = await request(app.baseUrl).get(`/v1/invoices/${id}/qr.png`).set(auth(school.accountant)).buffer(true);
    expect(png.status).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect((png.body as Buffer).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const svg = await request(app.baseUrl).get(`/v1/invoices/${id}/qr.svg`).set(auth(school.accountant));
    expect(svg.status).toBe(200);
    expect(svg.text ?? String(svg.body)).toContain('<svg');
  });

  test('the parent\'s page shows the Vietnamese notice and the QR; a wrong token is 404', async () => {
    const inv = await app.db('invoices as i').join('people as p', 'p.id', 'i.person_id').where({ 'i.school_id': school.id, 'i.run_id': runId }).first('i.pay_token', 'i.payment_code', 'p.full_name', 'p.personal_id');
    const page = await request(app.baseUrl).get(`/pay/${inv.pay_token}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    for (const text of ['Thông báo thu Tháng 12/2026', 'Trường Tiểu học Lê Văn Lương', inv.full_name, 'Còn phải nộp', 'Nội dung chuyển khoản', inv.payment_code, 'Vietcombank', '<svg']) {
      expect(page.text).toContain(text);
    }
    expect(page.text).not.toContain(inv.personal_id);
    expect(page.text).toContain(`${inv.personal_id.slice(0, 3)}******${inv.personal_id.slice(9)}`);
    const wrong = await request(app.baseUrl).get(`/pay/${inv.pay_token.slice(0, -2)}xx`);
    expect(wrong.status).toBe(404);
    expect(wrong.text).toContain('Không tìm thấy');
  });

  test('a student\'s statement lists the issued invoice and the balance', async () => {
    const inv = await app.db('invoices').where({ school_id: school.id, run_id: runId }).first();
    const res = await request(app.baseUrl).get(`/v1/schools/${school.id}/students/${inv.person_id}/statement`).set(auth(school.accountant));
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/schools/{school_id}/students/{student_id}/statement');
    expect(res.body).toMatchObject({ billed_vnd: Number(inv.total_vnd), paid_vnd: 0, balance_vnd: Number(inv.total_vnd) });
    expect(res.body.invoices).toHaveLength(1);
  });

  test('voiding needs a reason and keeps the number; a voided invoice cannot be voided again', async () => {
    const id = await app.db('invoices').where({ school_id: school.id, run_id: runId }).orderBy('number', 'desc').first().then((i) => i.id);
    const noReason = await request(app.baseUrl).post(`/v1/invoices/${id}/void`).set(auth(school.accountant)).send({});
    expect(noReason.status).toBe(400);
    const voided = await request(app.baseUrl).post(`/v1/invoices/${id}/void`).set(auth(school.accountant)).send({ reason: 'Học sinh chuyển trường' });
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({ status: 'void', number: 'HD-2026/000360', void_reason: 'Học sinh chuyển trường', vietqr_payload: null });
    const twice = await request(app.baseUrl).post(`/v1/invoices/${id}/void`).set(auth(school.accountant)).send({ reason: 'again' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('INVOICE_NOT_VOIDABLE');
  });

  test('a paid invoice cannot be voided and nothing changes', async () => {
    const inv = await app.db('invoices').where({ school_id: school.id, run_id: runId, status: 'open' }).first();
    await app.db('invoices').where({ school_id: school.id, id: inv.id }).update({ paid_vnd: inv.total_vnd, status: 'paid' });
    const res = await request(app.baseUrl).post(`/v1/invoices/${inv.id}/void`).set(auth(school.accountant)).send({ reason: 'thử hủy' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('INVOICE_NOT_VOIDABLE');
    expect(await app.db('invoices').where({ id: inv.id }).first()).toMatchObject({ status: 'paid', voided_at: null });
  });

  test('the plan version the invoices used is locked: changing it is refused, a new version is the way', async () => {
    const version = await app.db('fee_plan_versions as v').join('invoices as i', (j) => j.on('i.school_id', '=', 'v.school_id').andOn('i.plan_version_id', '=', 'v.id')).where('i.run_id', runId).first('v.id', 'v.plan_id', 'v.locked_at');
    expect(version.locked_at).not.toBeNull();
    const items = [{ fee_item_id: await feeItemId(school.id, 'TIEN_AN'), amount_vnd: 40000 }];
    const change = await request(app.baseUrl).put(`/v1/schools/${school.id}/fee-plans/${version.plan_id}/versions/${version.id}/items`).set(auth(school.accountant)).send({ items });
    expect(change.status).toBe(409);
    expect(change.body.error.code).toBe('PLAN_VERSION_LOCKED');
    const overlapping = await request(app.baseUrl).post(`/v1/schools/${school.id}/fee-plans/${version.plan_id}/versions`).set(auth(school.accountant)).send({ effective_from: '2026-09-05', items });
    expect(overlapping.status).toBe(409);
    expect(overlapping.body.error.code).toBe('PLAN_VERSION_OVERLAP');
    const next = await request(app.baseUrl).post(`/v1/schools/${school.id}/fee-plans/${version.plan_id}/versions`).set(auth(school.accountant)).send({ effective_from: '2027-01-01', items });
    expect(next.status).toBe(201);
    expectContract(next, 'post', '/v1/schools/{school_id}/fee-plans/{plan_id}/versions');
    expect(next.body.versions.map((v: { version: number; locked: boolean }) => [v.version, v.locked])).toEqual([[1, true], [2, false]]);
  });
});

describe('exemptions, discounts, voluntary items and mid-month enrolment on an invoice', () => {
  test('an approved 50 % exemption, a discount line and a voluntary item appear; a student enrolled mid-month pays for the days left', async () => {
    const klass = other.classes[0]!;
    const [a, b] = await app.db('enrollments as e').join('people as p', 'p.id', 'e.person_id').where({ 'e.school_id': other.id, 'e.class_id': klass.id }).orderBy('p.personal_id').limit(2).select('p.id', 'p.personal_id');
    // Tuition is 0 in the demo plans (Resolution 217/2025); price it for this test through a new version.
    const plan = await app.db('fee_plans').where({ school_id: other.id, grade: klass.grade }).first();
    const items = await app.db('fee_plan_version_items as vi').join('fee_plan_versions as v', (j) => j.on('v.school_id', '=', 'vi.school_id').andOn('v.id', '=', 'vi.version_id')).where({ 'v.school_id': other.id, 'v.plan_id': plan.id }).select('vi.fee_item_id', 'vi.amount_vnd');
    const tuitionId = await feeItemId(other.id, 'HOC_PHI');
    const newItems = items.map((i) => ({ fee_item_id: i.fee_item_id, amount_vnd: i.fee_item_id === tuitionId ? 300000 : Number(i.amount_vnd) }));
    expect((await request(app.baseUrl).post(`/v1/schools/${other.id}/fee-plans/${plan.id}/versions`).set(auth(other.accountant)).send({ effective_from: '2026-11-01', items: newItems })).status).toBe(201);

    const proposed = await request(app.baseUrl).post(`/v1/schools/${other.id}/exemptions`).set(auth(other.accountant))
      .send({ personal_id: a.personal_id, category: 'occupational_accident', percent: 50, valid_from: '2026-09-01', valid_to: '2027-05-31', evidence_ref: 'QĐ 123/2026 Phường Tân Chánh Hiệp' });
    expect(proposed.status).toBe(201);
    expectContract(proposed, 'post', '/v1/schools/{school_id}/exemptions');
    const selfApprove = await request(app.baseUrl).post(`/v1/schools/${other.id}/exemptions/${proposed.body.id}/approve`).set(auth(other.accountant)).send({});
    expect(selfApprove.status).toBe(403);
    const approved = await request(app.baseUrl).post(`/v1/schools/${other.id}/exemptions/${proposed.body.id}/approve`).set(auth(other.admin)).send({ note: 'Đã đối chiếu hồ sơ' });
    expect(approved.status).toBe(200);
    expect(approved.body.status).toBe('approved');
    const againDecided = await request(app.baseUrl).post(`/v1/schools/${other.id}/exemptions/${proposed.body.id}/reject`).set(auth(other.admin)).send({});
    expect(againDecided.status).toBe(409);
    expect(await app.db('audit_events').where({ school_id: other.id, subject_id: proposed.body.id }).pluck('action')).toEqual(expect.arrayContaining(['exemption.proposed', 'exemption.approved']));

    const discount = await request(app.baseUrl).post(`/v1/schools/${other.id}/discounts`).set(auth(other.accountant))
      .send({ personal_id: a.personal_id, fee_item_id: await feeItemId(other.id, 'PV_BAN_TRU'), amount_vnd: 100000, reason_code: 'HO_CAN_NGHEO', valid_from: '2026-09-01', valid_to: '2027-05-31' });
    expect(discount.status).toBe(201);
    const optional = await request(app.baseUrl).post(`/v1/schools/${other.id}/optional-enrollments`).set(auth(other.accountant))
      .send({ personal_id: a.personal_id, fee_item_id: await feeItemId(other.id, 'TA_BAN_NGU'), from_on: '2026-09-07' });
    expect(optional.status).toBe(201);
    await app.db('enrollments').where({ school_id: other.id, person_id: b.id }).update({ enrolled_on: '2026-11-16' });

    // A student in a grade without a fee plan fails alone; everyone else is billed.
    const year = await app.db('academic_years').where({ code: '2026-2027' }).first();
    const [odd] = await app.db('classes').insert({ school_id: other.id, academic_year_id: year.id, grade: 6, name: 'Lớp ghép 6' }).returning('id');
    const [stray] = await app.db('people').insert({ personal_id: '079214999001', full_name: 'Đinh Văn Lạc', date_of_birth: '2014-03-03', gender: 'male' }).returning('id');
    await app.db('enrollments').insert({ school_id: other.id, class_id: odd.id, person_id: stray.id, enrolled_on: '2026-09-05' });

    const start = await request(app.baseUrl).post(`/v1/schools/${other.id}/invoice-runs`).set(auth(other.accountant)).send({ period: 'month', month: '2026-11', due_on: '2026-11-20' });
    expect(start.status).toBe(202);
    const done = await waitForRun(other.id, start.body.id, other.accountant);
    expect(done.body).toMatchObject({ status: 'succeeded', total: 361, done: 360, failed: 1, errors: [{ student_id: stray.id, code: 'NO_FEE_PLAN' }] });

    const novemberDays = demoSchoolDays().filter((d) => d.startsWith('2026-11'));
    const invA = await app.db('invoices').where({ school_id: other.id, person_id: a.id, run_id: start.body.id }).first();
    const viewA = await request(app.baseUrl).get(`/v1/invoices/${invA.id}`).set(auth(other.accountant));
    const lineA = (code: string, kind = 'fee') => viewA.body.lines.find((l: { fee_item_code: string; kind: string }) => l.fee_item_code === code && l.kind === kind);
    expect(lineA('HOC_PHI')).toMatchObject({ gross_vnd: 300000, exemption_percent: 50, exemption_vnd: 150000, total_vnd: 150000 });
    expect(lineA('PV_BAN_TRU', 'discount')).toMatchObject({ total_vnd: -100000, reason_code: 'HO_CAN_NGHEO' });
    expect(lineA('TA_BAN_NGU')).toMatchObject({ total_vnd: 200000 });
    expect(viewA.body.total_vnd).toBe(viewA.body.lines.reduce((s: number, l: { total_vnd: number }) => s + l.total_vnd, 0));

    const invB = await app.db('invoices').where({ school_id: other.id, person_id: b.id, run_id: start.body.id }).first();
    const viewB = await request(app.baseUrl).get(`/v1/invoices/${invB.id}`).set(auth(other.accountant));
    const attended = novemberDays.filter((d) => d >= '2026-11-16').length;
    const lineB = (code: string) => viewB.body.lines.find((l: { fee_item_code: string }) => l.fee_item_code === code);
    expect(lineB('TIEN_AN')).toMatchObject({ quantity: attended, total_vnd: 35000 * attended });
    expect(lineB('PV_BAN_TRU').total_vnd).toBe(Math.round((250000 * attended) / novemberDays.length));
    expect(lineB('TA_BAN_NGU')).toBeUndefined();
  });
});

describe('periods and prices that would bill twice or not at all', () => {
  test('a year run and a first-term run starting the same day both bill; an overlapping term is refused', async () => {
    const year = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs`).set(auth(school.accountant)).send({ period: 'year', academic_year: '2026-2027' });
    expect(year.status).toBe(202);
    expect((await waitForRun(school.id, year.body.id, school.accountant)).body).toMatchObject({ status: 'succeeded', failed: 0 });
    const term = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs`).set(auth(school.accountant)).send({ period: 'term', label: 'Học kỳ I', start: '2026-09-05', end: '2027-01-15' });
    expect(term.status).toBe(202);
    expect((await waitForRun(school.id, term.body.id, school.accountant)).body).toMatchObject({ status: 'succeeded' });
    // The demo plans have no per-term items, so the term bills nothing; the year bills BHYT and uniforms for everyone.
    expect(await app.db('invoices').where({ run_id: year.body.id })).toHaveLength(360);
    const overlapping = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs`).set(auth(school.accountant)).send({ period: 'term', label: 'Học kỳ I (sửa)', start: '2026-09-06', end: '2027-01-15' });
    expect(overlapping.status).toBe(409);
    expect(overlapping.body.error.code).toBe('PERIOD_OVERLAPS');
  });

  test('a new plan version may not reach back into a month already invoiced', async () => {
    // A plan with its single, invoiced version (the locked-version story added a version elsewhere).
    const plan = await app.db('fee_plans as p').where('p.school_id', school.id)
      .whereRaw('(SELECT count(*) FROM fee_plan_versions v WHERE v.school_id = p.school_id AND v.plan_id = p.id) = 1').first('p.id');
    const items = [{ fee_item_id: await feeItemId(school.id, 'TIEN_AN'), amount_vnd: 36000 }];
    const backdated = await request(app.baseUrl).post(`/v1/schools/${school.id}/fee-plans/${plan.id}/versions`).set(auth(school.accountant)).send({ effective_from: '2026-12-15', items });
    expect(backdated.status).toBe(409);
    expect(backdated.body.error.code).toBe('PLAN_VERSION_BACKDATED');
  });
});

describe('bad input changes nothing', () => {
  test.each([
    ['a term starting in year 0', { period: 'term', label: 'x', start: '0000-01-01', end: '0000-02-01' }, 'start'],
    ['a month in year 0', { period: 'month', month: '0000-01' }, 'month'],
  ])('when a run is asked for %s, then 400 not 500', async (_name, body, param) => {
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs`).set(auth(school.accountant)).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe(param);
  });

  test.each([
    ['a negative amount', { amount_vnd: -1 }, 400],
    ['a fractional amount', { amount_vnd: 1000.5 }, 400],
    ['an amount as a string', { amount_vnd: '1000' }, 400],
  ])('when a plan item has %s, then %s', async (_name, change, status) => {
    const before = await countRows(app.db, 'fee_plan_versions');
    const plan = await app.db('fee_plans').where({ school_id: school.id }).first();
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/fee-plans/${plan.id}/versions`).set(auth(school.accountant))
      .send({ effective_from: '2027-03-01', items: [Object.assign({ fee_item_id: await feeItemId(school.id, 'TIEN_AN'), amount_vnd: 1 }, change)] });
    expect(res.status).toBe(status);
    expect(res.body.error.param).toBe('items.0.amount_vnd');
    expect(await countRows(app.db, 'fee_plan_versions')).toBe(before);
  });

  test('an exemption over 100 % or not matching its category is refused', async () => {
    const student = await app.db('enrollments as e').join('people as p', 'p.id', 'e.person_id').where('e.school_id', school.id).first('p.personal_id');
    const before = await countRows(app.db, 'exemptions');
    for (const percent of [150, 70]) {
      const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/exemptions`).set(auth(school.accountant))
        .send({ personal_id: student.personal_id, category: 'orphan', percent, valid_from: '2026-09-01', valid_to: '2027-05-31', evidence_ref: 'x' });
      expect(res.status).toBe(400);
      expect(res.body.error.param).toBe('percent');
    }
    expect(await countRows(app.db, 'exemptions')).toBe(before);
  });

  test('a plan for a grade the school does not teach is refused', async () => {
    const before = await countRows(app.db, 'fee_plans');
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/fee-plans`).set(auth(school.accountant))
      .send({ academic_year: '2026-2027', grade: 9, name: 'Khối 9', effective_from: '2026-09-05', items: [{ fee_item_id: await feeItemId(school.id, 'TIEN_AN'), amount_vnd: 35000 }] });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'GRADE_NOT_OFFERED', param: 'grade' });
    expect(await countRows(app.db, 'fee_plans')).toBe(before);
  });

  test('a run for a month without school days is refused; a finance officer cannot start runs', async () => {
    const before = await countRows(app.db, 'invoice_runs');
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs`).set(auth(school.accountant)).send({ period: 'month', month: '2027-07' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('NO_SCHOOL_DAYS');
    const finance = await request(app.baseUrl).post(`/v1/schools/${school.id}/invoice-runs`).set(auth(financeOfficer('NB'))).send({ period: 'month', month: '2027-01' });
    expect(finance.status).toBe(403);
    expect(await countRows(app.db, 'invoice_runs')).toBe(before);
  });
});
