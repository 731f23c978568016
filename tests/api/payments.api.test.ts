import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import type { Provider, SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { SIGNERS } from '../../src/integrations/banks';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { startTestApp, type TestApp } from '../support/test-app';
import { billPeriod, countRows, demoSchool } from '../factories/demo';
import { expectRollupsMatchHistory } from '../support/report-rollups';

/**
 * The money path from the bank's side: signed notifications in each provider's real wire format,
 * sent over HTTP to the running app. After every scenario the ledger's invariants must hold.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
const secrets = new Map<Provider | 'billpay', { endpointId: string; secret: string }>();
let accountNumber: string;
let seq = 0;

async function issueMonth(month: string): Promise<void> {
  await billPeriod(app, school.id, school.accountant, { kind: 'month', month });
}

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 3); // Trường Tiểu học Nguyễn Trãi, 360 students
  await issueMonth('2026-11');
  const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
  accountNumber = account.account_number;
  // The demo data gives every school an endpoint per provider.
  for (const e of await app.db('bank_endpoints').where({ school_id: school.id, collection_account_id: account.id })) {
    secrets.set(e.provider, { endpointId: e.id, secret: e.secret });
  }
  expect(secrets.size).toBe(5);
}, 60_000);
afterAll(() => app.close());

afterEach(async () => {
  expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
  await expectRollupsMatchHistory(app.db, [school.id]);
});

function transfer(over: Partial<SimTransfer>): SimTransfer {
  seq++;
  return { externalId: `TX${Date.now()}${seq}`, amountVnd: 100000, accountNumber, description: 'chuyen tien', occurredAt: app.clock.now(), bankReference: `FT${seq}`, payerName: 'NGUYEN VAN A', ...over };
}

async function deliver(provider: Provider, t: SimTransfer, secretOverride?: string) {
  const { endpointId, secret } = secrets.get(provider)!;
  const signed = SIGNERS[provider](t, secretOverride ?? secret, app.clock.now());
  const path = `/callbacks/${provider}/${endpointId}`;
  if (signed.method === 'GET') return request(app.baseUrl).get(path).query(signed.query).set(signed.headers);
  return request(app.baseUrl).post(path).set(signed.headers).send(signed.body ?? '');
}

async function openInvoice(offset = 0) {
  return app.db('invoices').where({ school_id: school.id, status: 'open' }).orderBy('id').offset(offset).first<{ id: string; person_id: string; payment_code: string; total_vnd: string; paid_vnd: string; status: string }>();
}

const invoice = (id: string) => app.db('invoices').where({ id }).first();

describe('bank notifications', () => {
  test('an exact payment by SePay transfer pays the invoice; the replay is answered the same and records nothing', async () => {
    const inv = await openInvoice();
    const t = transfer({ amountVnd: Number(inv.total_vnd), description: `MBVCB.123 HP ${inv.payment_code} thanh toan hoc phi`, paymentCode: inv.payment_code });
    const first = await deliver('sepay', t);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ success: true });
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid', paid_vnd: inv.total_vnd });
    const payments = await countRows(app.db, 'payments');
    const replay = await deliver('sepay', t);
    expect(replay.status).toBe(first.status);
    expect(replay.body).toEqual(first.body);
    expect(await countRows(app.db, 'payments')).toBe(payments);
  });

  test('a partial Casso payment leaves the invoice partially paid, with the code found inside the bank\'s text', async () => {
    const inv = await openInvoice();
    const res = await deliver('casso', transfer({ amountVnd: 100000, description: `IBFT ${inv.payment_code.toLowerCase()}-CHUYEN KHOAN` }));
    expect(res.status).toBe(200);
    expect(await invoice(inv.id)).toMatchObject({ status: 'partially_paid', paid_vnd: '100000' });
  });

  test('an overpayment becomes credit, which pays the next invoice when it is issued', async () => {
    const inv = await openInvoice();
    const extra = 150000;
    const res = await deliver('direct', transfer({ amountVnd: Number(inv.total_vnd) + extra, description: `Hoc phi ${inv.payment_code}` }));
    expect(res.status).toBe(200);
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid' });
    const credit = await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'credit', account_key: inv.person_id }).sum('amount_vnd as sum').first();
    expect(Number(credit!.sum)).toBe(-extra);

    await issueMonth('2026-12');
    const next = await app.db('invoices').where({ school_id: school.id, person_id: inv.person_id, period_label: 'Tháng 12/2026' }).first();
    expect(next).toMatchObject({ status: 'partially_paid', paid_vnd: String(extra) });
    const after = await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'credit', account_key: inv.person_id }).sum('amount_vnd as sum').first();
    expect(Number(after!.sum)).toBe(0);
  });

  test('money without a known payment code goes to suspense and the exception queue', async () => {
    const res = await deliver('sepay', transfer({ amountVnd: 500000, description: 'ung ho quy lop' }));
    expect(res.status).toBe(200);
    const payment = await app.db('payments').where({ school_id: school.id, status: 'unattributed' }).orderBy('recorded_at', 'desc').first();
    expect(payment).toMatchObject({ amount_vnd: '500000', person_id: null });
    expect(await app.db('payment_exceptions').where({ school_id: school.id, payment_id: payment.id, kind: 'unattributed' })).toHaveLength(1);
    const suspense = await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'suspense' }).sum('amount_vnd as sum').first();
    expect(Number(suspense!.sum)).toBeLessThanOrEqual(-500000);
  });

  test('a replay of the same transaction id with another amount is refused with 409 and raised; no payment', async () => {
    const inv = await openInvoice();
    const t = transfer({ amountVnd: 50000, description: inv.payment_code });
    expect((await deliver('sepay', t)).status).toBe(200);
    const payments = await countRows(app.db, 'payments');
    const forged = await deliver('sepay', { ...t, amountVnd: 5_000_000 });
    expect(forged.status).toBe(409);
    expect(await countRows(app.db, 'payments')).toBe(payments);
    expect(await app.db('payment_exceptions').where({ school_id: school.id, kind: 'external_id_amount_mismatch' })).toHaveLength(1);
  });

  test.each(['sepay', 'casso', 'direct'] as const)('a %s notification signed with the wrong secret is refused and nothing is stored', async (provider) => {
    const events = await countRows(app.db, 'bank_events');
    const res = await deliver(provider, transfer({ description: 'x' }), provider === 'direct' ? `whsec_${Buffer.from('another-school-secret-000000000').toString('base64')}` : 'another-school-secret-0000000000');
    expect(res.status).toBe(401);
    expect(await countRows(app.db, 'bank_events')).toBe(events);
  });

  test('VNPay IPN: the right amount confirms (00); a wrong amount (04), an unknown order (01) and a paid order (02) are refused, and their money waits in suspense', async () => {
    const inv = await openInvoice();
    const payments = await countRows(app.db, 'payments');
    const wrong = await deliver('vnpay', transfer({ amountVnd: 1000, paymentCode: inv.payment_code, description: `Thanh toan ${inv.payment_code}` }));
    expect(wrong.body).toEqual({ RspCode: '04', Message: 'Invalid amount' });
    const unknown = await deliver('vnpay', transfer({ amountVnd: 1000, paymentCode: '2222222222', description: 'x' }));
    expect(unknown.body.RspCode).toBe('01');
    // Refused orders pay nothing, but the money VNPay collected is recorded in suspense, never dropped.
    expect(await countRows(app.db, 'payments')).toBe(payments + 2);
    expect(await app.db('payments').where({ school_id: school.id, provider: 'vnpay', status: 'unattributed' })).toHaveLength(2);
    expect(await invoice(inv.id)).toMatchObject({ paid_vnd: inv.paid_vnd });
    const ok = await deliver('vnpay', transfer({ amountVnd: Number(inv.total_vnd) - Number(inv.paid_vnd), paymentCode: inv.payment_code, description: `Thanh toan ${inv.payment_code}` }));
    expect(ok.body).toEqual({ RspCode: '00', Message: 'Confirm Success' });
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid' });
    const again = await deliver('vnpay', transfer({ amountVnd: 1000, paymentCode: inv.payment_code, description: 'x' }));
    expect(again.body.RspCode).toBe('02');
    expect(await countRows(app.db, 'payments')).toBe(payments + 4);
    expect(await app.db('payment_exceptions').where({ school_id: school.id, kind: 'unattributed' }).whereRaw(`details->>'note' LIKE 'vnpay replied %'`)).toHaveLength(3);
  });
});

describe('endpoints and the bank simulator', () => {
  test('a school admin opens an endpoint for a new account and sees its secret once; a second one for the same account is refused', async () => {
    const admin = { authorization: `Bearer ${app.tokenFor(school.admin)}` };
    const account = await request(app.baseUrl).post(`/v1/schools/${school.id}/collection-accounts`).set(admin).send({ bank_bin: '970418', account_number: '3141592653', account_name: 'TRUONG TH NGUYEN TRAI' });
    expect(account.status).toBe(201);
    const created = await request(app.baseUrl).post(`/v1/schools/${school.id}/bank-endpoints`).set(admin).send({ provider: 'direct', collection_account_id: account.body.id });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    expect(created.body.callback_path).toBe(`/callbacks/direct/${created.body.id}`);
    const again = await request(app.baseUrl).post(`/v1/schools/${school.id}/bank-endpoints`).set(admin).send({ provider: 'direct', collection_account_id: account.body.id });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('BANK_ENDPOINT_EXISTS');
    const accountant = await request(app.baseUrl).post(`/v1/schools/${school.id}/bank-endpoints`).set({ authorization: `Bearer ${app.tokenFor(school.accountant)}` }).send({ provider: 'sepay', collection_account_id: account.body.id });
    expect(accountant.status).toBe(403);
  });

  test('the simulated bank pays an invoice through a signed callback, and the payment shows up', async () => {
    // A student with one unpaid invoice, so oldest-first allocation lands on it.
    const inv = await app.db('invoices as i').where({ 'i.school_id': school.id, 'i.status': 'open' })
      .whereRaw(`(SELECT count(*) FROM invoices j WHERE j.school_id = i.school_id AND j.person_id = i.person_id AND j.status IN ('open', 'partially_paid')) = 1`)
      .first<{ id: string; payment_code: string; total_vnd: string; paid_vnd: string }>('i.id', 'i.payment_code', 'i.total_vnd', 'i.paid_vnd');
    const due = Number(inv.total_vnd) - Number(inv.paid_vnd);
    const res = await request(app.baseUrl).post('/sim/bank/transfers').send({ provider: 'direct', payment_code: inv.payment_code, amount_vnd: due });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ reply_status: 200, reply_body: { received: true } });
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid' });
    const payments = await request(app.baseUrl).get(`/v1/schools/${school.id}/payments?limit=100`).set({ authorization: `Bearer ${app.tokenFor(school.accountant)}` });
    expect(payments.status).toBe(200);
    expect(payments.body.data.some((p: { payment_code: string; amount_vnd: number }) => p.payment_code === inv.payment_code && p.amount_vnd === due)).toBe(true);
  });
});

describe('staff operations', () => {
  const staff = () => ({ authorization: `Bearer ${app.tokenFor(school.accountant)}` });

  test('an accountant records an exceptional cash payment with a reason; it pays the invoice and is audited', async () => {
    // The cash covers everything the student owes, so every open invoice of theirs ends up paid.
    const inv = await openInvoice(7);
    const owed = await app.db('invoices').where({ school_id: school.id, person_id: inv.person_id }).whereIn('status', ['open', 'partially_paid']).select('id', 'total_vnd', 'paid_vnd');
    const amount = owed.reduce((s, o) => s + Number(o.total_vnd) - Number(o.paid_vnd), 0);
    const noReason = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments`).set(staff()).send({ payment_code: inv.payment_code, amount_vnd: amount });
    expect(noReason.status).toBe(400);
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments`).set(staff()).send({ payment_code: inv.payment_code, amount_vnd: amount, reason: 'Phụ huynh nộp tiền mặt tại trường' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ provider: 'manual', status: 'attributed', amount_vnd: amount });
    for (const o of owed) expect(await invoice(o.id)).toMatchObject({ status: 'paid' });
    expect(await app.db('audit_events').where({ school_id: school.id, action: 'payment.recorded_manually', subject_id: res.body.id })).toHaveLength(1);
    const unknown = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments`).set(staff()).send({ payment_code: '2222222222', amount_vnd: 1000, reason: 'thử' });
    expect(unknown.status).toBe(422);
  });

  test('money in suspense is attributed to a student by resolving its exception; it leaves suspense and pays their invoice', async () => {
    const res = await deliver('sepay', transfer({ amountVnd: 120000, description: 'chuyen tien hoc phi con' }));
    expect(res.status).toBe(200);
    const exception = await app.db('payment_exceptions').where({ school_id: school.id, kind: 'unattributed', status: 'open' }).orderBy('created_at', 'desc').first();
    const suspenseBefore = Number((await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'suspense' }).sum('amount_vnd as s').first())!.s);
    const inv = await openInvoice(5);
    const resolved = await request(app.baseUrl).post(`/v1/schools/${school.id}/payment-exceptions/${exception.id}/resolve`).set(staff()).send({ payment_code: inv.payment_code, reason: 'Phụ huynh gọi điện xác nhận' });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: { action: 'attributed', student_id: inv.person_id } });
    const suspenseAfter = Number((await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'suspense' }).sum('amount_vnd as s').first())!.s);
    expect(suspenseAfter - suspenseBefore).toBe(120000);
    // The money now pays the student's invoices (oldest first), through allocations of the suspended payment.
    const allocations = await app.db('allocations as a').join('invoices as i', (j) => j.on('i.school_id', '=', 'a.school_id').andOn('i.id', '=', 'a.invoice_id')).where({ 'a.school_id': school.id, 'a.payment_id': exception.payment_id }).select('i.person_id', 'a.amount_vnd');
    expect(allocations.length).toBeGreaterThan(0);
    expect(allocations.every((a) => a.person_id === inv.person_id)).toBe(true);
    expect(allocations.reduce((s, a) => s + Number(a.amount_vnd), 0)).toBe(120000);
    const again = await request(app.baseUrl).post(`/v1/schools/${school.id}/payment-exceptions/${exception.id}/resolve`).set(staff()).send({ reason: 'lần nữa' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('PAYMENT_EXCEPTION_RESOLVED');
  });
});

describe('bill-payment protocol (partner banks)', () => {
  let n = 0;
  /** Signs a message as a partner bank would, with the independent standardwebhooks client. */
  function billpay(path: 'inquiries' | 'payments' | 'reversals', body: object, secretOverride?: string) {
    const { endpointId, secret } = secrets.get('billpay')!;
    const payload = JSON.stringify(body);
    const id = `msg_bp_${Date.now()}_${n++}`;
    const headers = new Webhook(secretOverride ?? secret).sign(id, app.clock.now(), payload);
    return request(app.baseUrl).post(`/billpay/${endpointId}/${path}`).set({ 'webhook-id': id, 'webhook-timestamp': String(Math.floor(app.clock.now().getTime() / 1000)), 'webhook-signature': headers, 'content-type': 'application/json' }).send(payload);
  }

  test('an inquiry by personal ID lists the open invoices with the name and a masked ID; a stranger is not found', async () => {
    const inv = await openInvoice(11);
    const person = await app.db('people').where({ id: inv.person_id }).first();
    const res = await billpay('inquiries', { request_id: 'INQ-1', customer_code: person.personal_id });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ result_code: '00', student: { full_name: person.full_name, personal_id_masked: `${person.personal_id.slice(0, 3)}******${person.personal_id.slice(9)}` } });
    expect(JSON.stringify(res.body)).not.toContain(person.personal_id);
    expect(res.body.invoices.map((i: { payment_code: string }) => i.payment_code)).toContain(inv.payment_code);
    expect(res.body.total_due_vnd).toBe(res.body.invoices.reduce((s: number, i: { due_vnd: number }) => s + i.due_vnd, 0));
    const byCode = await billpay('inquiries', { request_id: 'INQ-2', customer_code: inv.payment_code });
    expect(byCode.body.student.full_name).toBe(person.full_name);
    const stranger = await billpay('inquiries', { request_id: 'INQ-3', customer_code: '079199999998' });
    expect(stranger.status).toBe(404);
    expect(stranger.body.result_code).toBe('CUSTOMER_NOT_FOUND');
    const forged = await billpay('inquiries', { request_id: 'INQ-4', customer_code: person.personal_id }, `whsec_${Buffer.from('not-the-bank-secret-000000000000').toString('base64')}`);
    expect(forged.status).toBe(401);
  });

  test('a payment for named invoices pays them; the replay is answered the same; a same-day reversal undoes it without editing history', async () => {
    const inv = await openInvoice(13);
    const due = Number(inv.total_vnd) - Number(inv.paid_vnd);
    const payments = await countRows(app.db, 'payments');
    const body = { bank_transaction_id: 'BP-0001', customer_code: inv.payment_code, amount_vnd: due, invoice_codes: [inv.payment_code], paid_at: app.clock.now().toISOString() };
    const paid = await billpay('payments', body);
    expect(paid.status).toBe(200);
    expect(paid.body.result_code).toBe('00');
    expect(await invoice(inv.id)).toMatchObject({ status: 'paid' });
    const replay = await billpay('payments', body);
    expect(replay.body).toEqual(paid.body);
    expect(await countRows(app.db, 'payments')).toBe(payments + 1);
    const otherAmount = await billpay('payments', { ...body, amount_vnd: due + 1 });
    expect(otherAmount.status).toBe(409);

    const reversed = await billpay('reversals', { bank_transaction_id: 'BP-0001-R', original_transaction_id: 'BP-0001', reason: 'Khách hàng hủy giao dịch' });
    expect(reversed.status).toBe(200);
    expect(reversed.body.result_code).toBe('00');
    expect(await invoice(inv.id)).toMatchObject({ status: 'open', paid_vnd: '0' });
    const allocations = await app.db('allocations as a').join('payments as p', (j) => j.on('p.school_id', '=', 'a.school_id').andOn('p.id', '=', 'a.payment_id')).where({ 'a.school_id': school.id, 'a.invoice_id': inv.id }).select('a.amount_vnd');
    expect(allocations.map((a) => Number(a.amount_vnd)).sort((x, y) => x - y)).toEqual([-due, due]);
    const again = await billpay('reversals', { bank_transaction_id: 'BP-0001-R2', original_transaction_id: 'BP-0001', reason: 'lần hai' });
    expect(again.status).toBe(409);
    expect(again.body.result_code).toBe('ALREADY_REVERSED');
    const replayedReversal = await billpay('reversals', { bank_transaction_id: 'BP-0001-R', original_transaction_id: 'BP-0001', reason: 'Khách hàng hủy giao dịch' });
    expect(replayedReversal.body).toEqual(reversed.body);
  });

  const staffAuth = () => ({ authorization: `Bearer ${app.tokenFor(school.accountant)}` });
  const paymentOf = async (externalId: string) => (await app.db('payments as p').join('bank_events as b', (j) => j.on('b.school_id', '=', 'p.school_id').andOn('b.id', '=', 'p.bank_event_id')).where({ 'p.school_id': school.id, 'b.external_id': externalId }).first('p.id')).id as string;

  test('a bank reversal racing a correction of the same payment: exactly one of them happens', async () => {
    for (let round = 0; round < 4; round++) {
      const inv = await openInvoice(29 + round * 2);
      const other = await openInvoice(30 + round * 2);
      const due = Number(inv.total_vnd) - Number(inv.paid_vnd);
      const tx = `BP-RACE-${round}`;
      expect((await billpay('payments', { bank_transaction_id: tx, customer_code: inv.payment_code, amount_vnd: due, invoice_codes: [inv.payment_code], paid_at: app.clock.now().toISOString() })).status).toBe(200);
      const paymentId = await paymentOf(tx);
      const [reversal, correction] = await Promise.all([
        billpay('reversals', { bank_transaction_id: `${tx}-R`, original_transaction_id: tx, reason: 'Khách hàng hủy' }),
        request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${paymentId}/corrections`).set(staffAuth()).send({ payment_code: other.payment_code, reason: 'Nhầm mã học sinh' }),
      ]);
      expect([reversal.status === 200, correction.status === 201].filter(Boolean)).toHaveLength(1);
      expect([409].includes(reversal.status) || [409].includes(correction.status)).toBe(true);
      expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
    }
  });

  test('a reversed payment cannot be corrected; a payment whose invoice a credit note partly moved to credit reverses cleanly', async () => {
    const inv = await openInvoice(41);
    const other = await openInvoice(42);
    const due = Number(inv.total_vnd) - Number(inv.paid_vnd);
    expect((await billpay('payments', { bank_transaction_id: 'BP-REV-COR', customer_code: inv.payment_code, amount_vnd: due, invoice_codes: [inv.payment_code], paid_at: app.clock.now().toISOString() })).status).toBe(200);
    expect((await billpay('reversals', { bank_transaction_id: 'BP-REV-COR-R', original_transaction_id: 'BP-REV-COR', reason: 'hủy' })).status).toBe(200);
    const refused = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${await paymentOf('BP-REV-COR')}/corrections`).set(staffAuth()).send({ payment_code: other.payment_code, reason: 'Nhầm mã' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('PAYMENT_REVERSED');

    const third = await openInvoice(43);
    const dueThird = Number(third.total_vnd) - Number(third.paid_vnd);
    expect((await billpay('payments', { bank_transaction_id: 'BP-CN', customer_code: third.payment_code, amount_vnd: dueThird, invoice_codes: [third.payment_code], paid_at: app.clock.now().toISOString() })).status).toBe(200);
    // A credit note after payment moves 30,000 of the paid money to the student's credit.
    expect((await request(app.baseUrl).post(`/v1/invoices/${third.id}/credit-notes`).set(staffAuth()).send({ amount_vnd: 30_000, reason: 'Giảm tiền ăn' })).status).toBe(201);
    const reversal = await billpay('reversals', { bank_transaction_id: 'BP-CN-R', original_transaction_id: 'BP-CN', reason: 'hủy' });
    expect(reversal.status).toBe(200);
    // The invoice gives back what it holds; the 30,000 comes back from the credit.
    expect(await invoice(third.id)).toMatchObject({ paid_vnd: '0', credited_vnd: '30000', status: 'open' });
  });

  test('a bill payment another provider had already reported (stored as a duplicate) is still reversed by its bank, once', async () => {
    const inv = await openInvoice(44);
    // SePay reads the account's statement and reports the transfer first, under the bank's reference.
    expect((await deliver('sepay', transfer({ amountVnd: 60_000, description: `HP ${inv.payment_code}`, paymentCode: inv.payment_code, bankReference: 'BP-DUP-1' }))).status).toBe(200);
    const payment = await app.db('payments').where({ school_id: school.id, bank_reference: 'BP-DUP-1' }).first<{ id: string; person_id: string }>('id', 'person_id');
    expect(payment.person_id).toBe(inv.person_id);
    const netOf = async () => Number((await app.db('allocations').where({ school_id: school.id, payment_id: payment.id }).sum<{ sum: string }[]>('amount_vnd as sum'))[0]!.sum ?? 0);
    expect(await netOf()).toBe(60_000);
    const payments = await countRows(app.db, 'payments');
    // The bank's own notification of the same transfer (the student still owes something, so it is stored) is a duplicate.
    expect((await billpay('payments', { bank_transaction_id: 'BP-DUP-1', customer_code: inv.payment_code, amount_vnd: 60_000, paid_at: app.clock.now().toISOString() })).status).toBe(200);
    expect(await countRows(app.db, 'payments')).toBe(payments);
    expect(await app.db('bank_events').where({ school_id: school.id, external_id: 'BP-DUP-1', provider: 'billpay' }).first()).toMatchObject({ status: 'duplicate' });
    const reversed = await billpay('reversals', { bank_transaction_id: 'BP-DUP-1-R', original_transaction_id: 'BP-DUP-1', reason: 'Khách hàng hủy giao dịch' });
    expect([reversed.status, reversed.body.result_code]).toEqual([200, '00']);
    // The payment's allocations are brought to zero by new rows; the payment itself is untouched.
    expect(await netOf()).toBe(0);
    expect(await app.db('journals').where({ school_id: school.id, kind: 'payment_reversed', reference_id: payment.id })).toHaveLength(1);
    const again = await billpay('reversals', { bank_transaction_id: 'BP-DUP-1-R2', original_transaction_id: 'BP-DUP-1', reason: 'lần hai' });
    expect([again.status, again.body.result_code]).toEqual([409, 'ALREADY_REVERSED']);
  });

  test('two reversals of one payment racing each other reverse it once', async () => {
    const inv = await openInvoice(19);
    const due = Number(inv.total_vnd) - Number(inv.paid_vnd);
    expect((await billpay('payments', { bank_transaction_id: 'BP-0003', customer_code: inv.payment_code, amount_vnd: due, invoice_codes: [inv.payment_code], paid_at: app.clock.now().toISOString() })).status).toBe(200);
    const [a, b] = await Promise.all([
      billpay('reversals', { bank_transaction_id: 'BP-0003-RA', original_transaction_id: 'BP-0003', reason: 'a' }),
      billpay('reversals', { bank_transaction_id: 'BP-0003-RB', original_transaction_id: 'BP-0003', reason: 'b' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect(await invoice(inv.id)).toMatchObject({ status: 'open', paid_vnd: '0' });
  });

  test('another bank using the same transaction id is a different payment, and cannot reverse the first bank\'s', async () => {
    const inv = await openInvoice(23);
    const admin = { authorization: `Bearer ${app.tokenFor(school.admin)}` };
    const account = await request(app.baseUrl).post(`/v1/schools/${school.id}/collection-accounts`).set(admin).send({ bank_bin: '970415', account_number: '1122334455', account_name: 'TRUONG TH NGUYEN TRAI' });
    const bankB = await request(app.baseUrl).post(`/v1/schools/${school.id}/bank-endpoints`).set(admin).send({ provider: 'billpay', collection_account_id: account.body.id });
    expect(bankB.status).toBe(201);
    const asBankB = (path: 'payments' | 'reversals', body: object) => {
      const payload = JSON.stringify(body);
      const id = `msg_b_${Date.now()}_${n++}`;
      const signature = new Webhook(bankB.body.secret).sign(id, app.clock.now(), payload);
      return request(app.baseUrl).post(`${bankB.body.callback_path}/${path}`).set({ 'webhook-id': id, 'webhook-timestamp': String(Math.floor(app.clock.now().getTime() / 1000)), 'webhook-signature': signature, 'content-type': 'application/json' }).send(payload);
    };
    const payments = await countRows(app.db, 'payments');
    expect((await billpay('payments', { bank_transaction_id: 'SHARED-1', customer_code: inv.payment_code, amount_vnd: 50000, paid_at: app.clock.now().toISOString() })).status).toBe(200);
    expect((await asBankB('payments', { bank_transaction_id: 'SHARED-1', customer_code: inv.payment_code, amount_vnd: 50000, paid_at: app.clock.now().toISOString() })).status).toBe(200);
    expect(await countRows(app.db, 'payments')).toBe(payments + 2);
    const wrongBank = await asBankB('reversals', { bank_transaction_id: 'SHARED-1-R', original_transaction_id: 'SHARED-1', reason: 'x' });
    expect(wrongBank.status).toBe(200); // bank B reverses its own SHARED-1
    expect(await app.db('journals').where({ school_id: school.id, kind: 'payment_reversed' }).whereIn('reference_id', app.db('payments').where({ school_id: school.id }).whereIn('bank_event_id', app.db('bank_events').where({ school_id: school.id, endpoint_id: secrets.get('billpay')!.endpointId, external_id: 'SHARED-1' }).select('id')).select('id'))).toHaveLength(0);
  });

  test('a reversal on a later day is refused', async () => {
    const inv = await openInvoice(17);
    const due = Number(inv.total_vnd) - Number(inv.paid_vnd);
    expect((await billpay('payments', { bank_transaction_id: 'BP-0002', customer_code: inv.payment_code, amount_vnd: due, paid_at: app.clock.now().toISOString() })).status).toBe(200);
    app.clock.advanceMs(24 * 60 * 60 * 1000);
    try {
      const late = await billpay('reversals', { bank_transaction_id: 'BP-0002-R', original_transaction_id: 'BP-0002', reason: 'muộn' });
      expect(late.status).toBe(409);
      expect(late.body.result_code).toBe('REVERSAL_WINDOW_CLOSED');
    } finally {
      app.clock.advanceMs(-24 * 60 * 60 * 1000);
    }
  });
});

describe('storm', () => {
  test('distinct transactions delivered up to three times, shuffled and concurrent across providers, make exactly one payment each', async () => {
    const N = Number(process.env.STORM_TRANSACTIONS ?? 2000);
    const invoices = await app.db('invoices').where({ school_id: school.id }).whereIn('status', ['open', 'partially_paid']).select('payment_code');
    const providers: Provider[] = ['sepay', 'casso', 'direct'];
    const before = await countRows(app.db, 'payments');
    const txs = Array.from({ length: N }, (_, i) => ({
      provider: providers[i % providers.length]!,
      t: transfer({ externalId: `STORM-${i}`, amountVnd: 10000 + ((i * 7919) % 400000), description: `HP ${invoices[i % invoices.length]!.payment_code}` }),
    }));
    const deliveries = txs.flatMap((x, i) => Array.from({ length: 1 + (i % 3) }, () => x)).sort(() => Math.random() - 0.5);
    const replies = new Map<string, string[]>();
    let next = 0;
    await Promise.all(Array.from({ length: 40 }, async () => {
      while (next < deliveries.length) {
        const d = deliveries[next++]!;
        const res = await deliver(d.provider, d.t);
        expect(res.status).toBe(200);
        replies.set(d.t.externalId, [...(replies.get(d.t.externalId) ?? []), JSON.stringify(res.body)]);
      }
    }));
    expect(await countRows(app.db, 'payments')).toBe(before + N);
    for (const answers of replies.values()) expect(new Set(answers).size).toBe(1);
    const mismatched = await app.db.raw(`
      SELECT i.id FROM invoices i LEFT JOIN (SELECT invoice_id, sum(amount_vnd) AS s FROM allocations WHERE school_id = ? GROUP BY invoice_id) a ON a.invoice_id = i.id
      WHERE i.school_id = ? AND i.paid_vnd <> coalesce(a.s, 0)`, [school.id, school.id]);
    expect(mismatched.rows).toEqual([]);
  }, 180_000);
});
