import request from 'supertest';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { accountBalance, findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { startTestApp, type TestApp } from '../support/test-app';
import { demoSchool, financeOfficer } from '../factories/demo';
import { expectContract } from '../support/contract';
import { expectRollupsMatchHistory } from '../support/report-rollups';

/**
 * Credit notes (Stripe's arithmetic) and corrections of payments credited to the wrong student,
 * over HTTP against the running app; the ledger's invariants are checked after each scenario.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
let other: Awaited<ReturnType<typeof demoSchool>>;
let next = 0;
let decemberRun: string;

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 4);
  other = await demoSchool(app.db, 0);
  const principal = await loadPrincipal(app.db, school.accountant);
  const ctx = { db: app.db, clock: app.clock, principal };
  const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month: '2026-11' });
  await executeInvoiceRun(app.db, app.clock, school.id, run.id);
  await issueRunInvoices(ctx, school.id, run.id);
  // December is generated but issued only by the last test, where issuing spends students' credit.
  const december = await startInvoiceRun(ctx, school.id, { kind: 'month', month: '2026-12' });
  await executeInvoiceRun(app.db, app.clock, school.id, december.id);
  decemberRun = december.id;
}, 60_000);
afterAll(() => app.close());
afterEach(async () => {
  expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
  await expectRollupsMatchHistory(app.db, [school.id]);
});

const as = (personalId: string) => ({ authorization: `Bearer ${app.tokenFor(personalId)}` });
const staff = () => as(school.accountant);
const invoice = (id: string) => app.db('invoices').where({ id }).first();
/** A fresh open invoice (each test takes its own students). */
async function freshInvoice() {
  const rows = await app.db('invoices').where({ school_id: school.id, status: 'open' }).orderBy('id').offset(next++).limit(1).select<{ id: string; person_id: string; payment_code: string; total_vnd: string }[]>('id', 'person_id', 'payment_code', 'total_vnd');
  const inv = rows[0]!;
  expect(Number(inv.total_vnd)).toBeGreaterThan(100_000);
  return { ...inv, total: Number(inv.total_vnd) };
}
const credit = async (personId: string) => 0 - (await accountBalance(app.db, school.id, 'credit', personId)) || 0;
const revenue = async () => Number((await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'revenue' }).sum('amount_vnd as s').first())!.s);
async function payCash(code: string, amount: number) {
  const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments`).set(staff()).send({ payment_code: code, amount_vnd: amount, reason: 'Phụ huynh nộp tiền mặt tại trường' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}
const creditNote = (invoiceId: string, amount: number, who = staff()) => request(app.baseUrl).post(`/v1/invoices/${invoiceId}/credit-notes`).set(who).send({ amount_vnd: amount, reason: 'Học sinh nghỉ ốm cả tuần, hoàn tiền ăn' });

describe('credit notes', () => {
  test('on an unpaid invoice the whole credit is pre-payment: it stops being owed, and revenue falls by as much', async () => {
    const inv = await freshInvoice();
    const revenueBefore = await revenue();
    const res = await creditNote(inv.id, 40_000);
    expect(res.status).toBe(201);
    expectContract(res, 'post', '/v1/invoices/{invoice_id}/credit-notes');
    expect(res.body).toMatchObject({ invoice_id: inv.id, student_id: inv.person_id, amount_vnd: 40_000, pre_payment_vnd: 40_000, post_payment_vnd: 0, post_payment_to: 'credit' });
    expect(res.body.number).toMatch(/^CN-2026\/\d{6}$/);
    expect(res.body.lines.reduce((s: number, l: { amount_vnd: number }) => s + l.amount_vnd, 0)).toBe(40_000);
    expect(await revenue()).toBe(revenueBefore + 40_000); // revenue is a credit balance: it shrinks toward zero
    expect(await invoice(inv.id)).toMatchObject({ status: 'open', credited_vnd: '40000', paid_vnd: '0' });
    const shown = await request(app.baseUrl).get(`/v1/invoices/${inv.id}`).set(staff());
    expectContract(shown, 'get', '/v1/invoices/{invoice_id}');
    expect(shown.body).toMatchObject({ total_vnd: inv.total, credited_vnd: 40_000, due_vnd: inv.total - 40_000 });
    const listed = await request(app.baseUrl).get(`/v1/invoices/${inv.id}/credit-notes`).set(staff());
    expectContract(listed, 'get', '/v1/invoices/{invoice_id}/credit-notes');
    expect(listed.body.data.map((n: { id: string }) => n.id)).toEqual([res.body.id]);
  });

  test('on a paid invoice the credit is post-payment: the money leaves the invoice for the student\'s credit', async () => {
    const inv = await freshInvoice();
    await payCash(inv.payment_code, inv.total);
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid' });
    const creditBefore = await credit(inv.person_id);
    const res = await creditNote(inv.id, 30_000);
    expect(res.body).toMatchObject({ pre_payment_vnd: 0, post_payment_vnd: 30_000 });
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid', credited_vnd: '30000', paid_vnd: String(inv.total - 30_000) });
    expect(await credit(inv.person_id)).toBe(creditBefore + 30_000);
  });

  test('on a partly paid invoice the credit is split: first what is still owed, the rest to credit', async () => {
    const inv = await freshInvoice();
    await payCash(inv.payment_code, inv.total - 50_000);
    const res = await creditNote(inv.id, 80_000);
    expect(res.body).toMatchObject({ pre_payment_vnd: 50_000, post_payment_vnd: 30_000 });
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid', credited_vnd: '80000', paid_vnd: String(inv.total - 80_000) });
  });

  test('more than the invoice still asks is refused and changes nothing; crediting all of it leaves nothing due', async () => {
    const inv = await freshInvoice();
    const tooMuch = await creditNote(inv.id, inv.total + 1);
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error.code).toBe('CREDIT_EXCEEDS_INVOICE');
    expectContract(tooMuch, 'post', '/v1/invoices/{invoice_id}/credit-notes');
    expect(await invoice(inv.id)).toMatchObject({ credited_vnd: '0' });
    for (const bad of [0, -5, 1.5, '1000']) expect((await request(app.baseUrl).post(`/v1/invoices/${inv.id}/credit-notes`).set(staff()).send({ amount_vnd: bad, reason: 'thử sai' })).status).toBe(400);
    const all = await creditNote(inv.id, inv.total);
    expect(all.status).toBe(201);
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid', credited_vnd: String(inv.total), paid_vnd: '0' });
    expect((await request(app.baseUrl).post(`/v1/invoices/${inv.id}/void`).set(staff()).send({ reason: 'thử hủy' })).status).toBe(409);
  });

  test('two credit notes racing for the rest of one invoice: one is issued, the other refused, numbers stay gap-free', async () => {
    const inv = await freshInvoice();
    const results = await Promise.all([creditNote(inv.id, inv.total), creditNote(inv.id, inv.total)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 422]);
    expect(await invoice(inv.id)).toMatchObject({ credited_vnd: String(inv.total) });
    const numbers = (await app.db('credit_notes').where({ school_id: school.id }).orderBy('number').pluck('number')) as number[];
    expect(numbers).toEqual(numbers.map((_, n) => n + 1));
  });

  test('another school\'s accountant gets 404; a finance officer in scope is refused by role', async () => {
    const inv = await freshInvoice();
    expect((await creditNote(inv.id, 1_000, as(other.accountant))).status).toBe(404);
    expect((await creditNote(inv.id, 1_000, as(financeOfficer(school.district as 'Q12' | 'GV' | 'NB')))).status).toBe(403);
    expect(await invoice(inv.id)).toMatchObject({ credited_vnd: '0' });
  });
});

describe('payment corrections', () => {
  test('a payment made with a sibling\'s code is moved to the right student: the first invoice is open again, the second paid', async () => {
    const wrong = await freshInvoice();
    const right = await freshInvoice();
    const paymentId = await payCash(wrong.payment_code, right.total + 20_000);
    expect(await invoice(wrong.id)).toMatchObject({ status: 'paid' });
    const creditWrong = await credit(wrong.person_id);
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(staff()).send({ payment_code: right.payment_code, reason: 'Phụ huynh ghi nhầm mã của con thứ hai' });
    expect(res.status).toBe(201);
    expectContract(res, 'post', '/v1/schools/{school_id}/payments/{payment_id}/corrections');
    const listedPayments = await request(app.baseUrl).get(`/v1/schools/${school.id}/payments?limit=100`).set(staff());
    expect(listedPayments.body.data.find((p: { id: string }) => p.id === paymentId)).toMatchObject({ student_id: right.person_id });
    expect(res.body).toMatchObject({ payment_id: paymentId, from_student_id: wrong.person_id, to_student_id: right.person_id, amount_vnd: right.total + 20_000, allocated_vnd: right.total, credit_vnd: 20_000 });
    expect(res.body.reversed_allocations_vnd + res.body.reversed_credit_vnd).toBe(right.total + 20_000);
    expect(await invoice(wrong.id)).toMatchObject({ status: 'open', paid_vnd: '0' });
    expect(await invoice(right.id)).toMatchObject({ status: 'paid', paid_vnd: String(right.total) });
    expect(await credit(wrong.person_id)).toBe(creditWrong - res.body.reversed_credit_vnd);
    expect(await credit(right.person_id)).toBeGreaterThanOrEqual(20_000);
    // The payment row is untouched; the correction is history, and audited.
    expect(await app.db('payments').where({ id: paymentId }).first()).toMatchObject({ person_id: wrong.person_id });
    expect(await app.db('audit_events').where({ school_id: school.id, action: 'payment.corrected', subject_id: paymentId })).toHaveLength(1);

    // Moved again, back: the latest correction decides whose it is.
    const back = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(staff()).send({ payment_code: wrong.payment_code, reason: 'Kế toán nhập nhầm, chuyển lại' });
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({ from_student_id: right.person_id, to_student_id: wrong.person_id });
    expect(await invoice(right.id)).toMatchObject({ status: 'open', paid_vnd: '0' });
    const same = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(staff()).send({ payment_code: wrong.payment_code, reason: 'lần nữa' });
    expect(same.status).toBe(409);
    expect(same.body.error.code).toBe('SAME_STUDENT');
    expectContract(same, 'post', '/v1/schools/{school_id}/payments/{payment_id}/corrections');
  });

  test('corrections, credit notes and payments racing on the same students keep every invariant: the payment is owned once, its rows net to its amount', async () => {
    const a = await freshInvoice();
    const b = await freshInvoice();
    const c = await freshInvoice();
    const paymentId = await payCash(a.payment_code, 60_000);
    const correct = (code: string) => request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(staff()).send({ payment_code: code, reason: 'Chuyển đúng học sinh' });
    const results = await Promise.all([correct(b.payment_code), correct(c.payment_code), creditNote(b.id, 20_000), creditNote(c.id, 20_000), payCash(b.payment_code, 15_000), payCash(c.payment_code, 15_000)]);
    const corrections = results.slice(0, 2) as request.Response[];
    // Serialized on the payment row: both may pass (a -> b -> c or a -> c -> b), never from the same owner twice.
    expect(corrections.every((r) => r.status === 201)).toBe(true);
    const rows = await app.db('payment_corrections').where({ school_id: school.id, payment_id: paymentId }).orderBy('correction_no');
    expect(rows.map((r) => r.correction_no)).toEqual([1, 2]);
    expect(rows[1].from_person_id).toBe(rows[0].to_person_id);
    // What the payment pays now, plus the surplus on its owner's credit, is exactly its amount, all on the last owner's invoices.
    const net = await app.db('allocations as x').join('invoices as i', (j) => j.on('i.school_id', '=', 'x.school_id').andOn('i.id', '=', 'x.invoice_id'))
      .where({ 'x.school_id': school.id, 'x.payment_id': paymentId }).groupBy('i.person_id').havingRaw('sum(x.amount_vnd) <> 0').select('i.person_id', app.db.raw('sum(x.amount_vnd)::bigint AS paid'));
    expect(net.every((r) => r.person_id === rows[1].to_person_id)).toBe(true);
    expect(net.reduce((s, r) => s + Number(r.paid), 0)).toBeLessThanOrEqual(60_000);
  });

  test('a payment part of which a credit note moved to credit can be corrected, paid again, and corrected again: nothing is taken twice', async () => {
    const a = await freshInvoice();
    const b = await freshInvoice();
    const c = await freshInvoice();
    const p1 = await payCash(a.payment_code, a.total);
    expect((await creditNote(a.id, 50_000)).body).toMatchObject({ post_payment_vnd: 50_000 });
    const move = (code: string) => request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${p1}/corrections`).set(staff()).send({ payment_code: code, reason: 'Nhầm mã học sinh' });
    const first = await move(b.payment_code);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ reversed_allocations_vnd: a.total - 50_000, reversed_credit_vnd: 50_000 });
    expect(await invoice(a.id)).toMatchObject({ paid_vnd: '0', status: 'open' });
    await payCash(a.payment_code, a.total - 50_000);
    expect(await invoice(a.id)).toMatchObject({ status: 'paid' });
    const second = await move(c.payment_code);
    expect(second.status).toBe(201);
    expect(second.body.reversed_credit_vnd).toBeGreaterThanOrEqual(0);
    expect(second.body.reversed_allocations_vnd + second.body.reversed_credit_vnd).toBe(a.total);
    // A's invoice stays paid by A's own second payment; nothing of it moved with p1.
    expect(await invoice(a.id)).toMatchObject({ status: 'paid', paid_vnd: String(a.total - 50_000) });
  });

  test('undoing one of two payments on an invoice after a credit note leaves the other payment on it and no stray credit', async () => {
    const inv = await freshInvoice();
    const other = await freshInvoice();
    const p1 = await payCash(inv.payment_code, 60_000);
    await payCash(inv.payment_code, inv.total - 60_000);
    expect((await creditNote(inv.id, 50_000)).body).toMatchObject({ post_payment_vnd: 50_000 });
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${p1}/corrections`).set(staff()).send({ payment_code: other.payment_code, reason: 'Nhầm mã học sinh' });
    expect(res.status).toBe(201);
    // The second payment still pays the invoice; the credit note's 50,000 went back onto it.
    expect(await invoice(inv.id)).toMatchObject({ paid_vnd: String(inv.total - 60_000), credited_vnd: '50000' });
    expect(await credit(inv.person_id)).toBe(0);
  });

  test('bad corrections are refused and change nothing', async () => {
    const inv = await freshInvoice();
    const paymentId = await payCash(inv.payment_code, 5_000);
    const before = await app.db('allocations').where({ school_id: school.id }).count('* as n').first();
    const unknownCode = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(staff()).send({ payment_code: '2222222222', reason: 'thử' });
    expect(unknownCode.status).toBe(422);
    const unknownPayment = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/pay_${'0'.repeat(32)}/corrections`).set(staff()).send({ payment_code: inv.payment_code, reason: 'thử' });
    expect(unknownPayment.status).toBe(404);
    const noReason = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(staff()).send({ payment_code: inv.payment_code });
    expect(noReason.status).toBe(400);
    const otherSchool = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(as(other.accountant)).send({ payment_code: inv.payment_code, reason: 'thử' });
    expect(otherSchool.status).toBe(404);
    expect(await app.db('allocations').where({ school_id: school.id }).count('* as n').first()).toEqual(before);
  });

  test('a surplus already spent cannot be moved (the next invoice\'s issue used it); nothing changes', async () => {
    const first = await freshInvoice();
    const target = await freshInvoice();
    const paymentId = await payCash(first.payment_code, first.total + 10_000);
    expect(await credit(first.person_id)).toBe(10_000);
    // Issuing December applies the credit to the student's December invoice.
    await issueRunInvoices({ db: app.db, clock: app.clock, principal: await loadPrincipal(app.db, school.accountant) }, school.id, decemberRun);
    expect(await credit(first.person_id)).toBe(0);
    const before = await app.db('allocations').where({ school_id: school.id }).count('* as n').first();
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(staff()).send({ payment_code: target.payment_code, reason: 'chuyển nhầm' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('CREDIT_ALREADY_USED');
    expect(await app.db('allocations').where({ school_id: school.id }).count('* as n').first()).toEqual(before);
  });
});
