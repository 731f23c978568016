import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { SIGNERS } from '../../src/integrations/banks';
import type { SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { issuePendingReceipts, issueReceiptsForPayments } from '../../src/modules/receipts/receipt-issuing.service';
import { verifyContent } from '../../src/modules/receipts/receipt-signing';
import { findIssuingSeries, takeNumbers } from '../../src/modules/receipts/receipts.repository';
import { createLogger } from '../../src/logger';
import { startTestApp, type TestApp } from '../support/test-app';
import { billPeriod, demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { pdfText } from '../support/pdf-text';
import { expectRollupsMatchHistory } from '../support/report-rollups';

/**
 * Receipts for payments: one per payment, numbered without gaps per series even when many payments
 * and several sweepers run at once, idempotent, signed, and cancelled when the payment is undone.
 */
let app: TestApp;
type School = Awaited<ReturnType<typeof demoSchool>>;
let schools: School[];
const endpoints = new Map<string, { endpointId: string; secret: string; accountNumber: string; billpayId: string; billpaySecret: string }>();
let seq = 0;

async function issueMonth(school: School, month: string): Promise<void> {
  await billPeriod(app, school.id, school.accountant, { kind: 'month', month });
}

const logger = createLogger('silent');
const deps = () => ({ db: app.db, clock: app.clock, logger });

beforeAll(async () => {
  app = await startTestApp();
  schools = [await demoSchool(app.db, 3), await demoSchool(app.db, 1), await demoSchool(app.db, 5)];
  for (const school of schools) {
    await issueMonth(school, '2026-11');
    const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
    const direct = await app.db('bank_endpoints').where({ school_id: school.id, provider: 'direct' }).first();
    const billpay = await app.db('bank_endpoints').where({ school_id: school.id, provider: 'billpay' }).first();
    endpoints.set(school.id, { endpointId: direct.id, secret: direct.secret, accountNumber: account.account_number, billpayId: billpay.id, billpaySecret: billpay.secret });
  }
}, 120_000);
afterAll(() => app.close());

afterEach(async () => {
  for (const school of schools) expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
  await expectRollupsMatchHistory(app.db, schools.map((s) => s.id));
});

async function pay(school: School, paymentCode: string, amountVnd: number, over: Partial<SimTransfer> = {}) {
  seq++;
  const e = endpoints.get(school.id)!;
  const t: SimTransfer = { externalId: `RCT${Date.now()}${seq}`, amountVnd, accountNumber: e.accountNumber, description: `HP ${paymentCode}`, occurredAt: app.clock.now(), bankReference: `FT26${seq}`, payerName: 'TRAN THI BICH', ...over };
  const signed = SIGNERS.direct(t, e.secret, app.clock.now());
  const res = await request(app.baseUrl).post(`/callbacks/direct/${e.endpointId}`).set(signed.headers).send(signed.body ?? '');
  expect(res.status).toBe(200);
  return t;
}

async function openInvoices(school: School, n: number, offset = 0) {
  return app.db('invoices').where({ school_id: school.id, status: 'open' }).orderBy('id').offset(offset).limit(n).select<{ id: string; person_id: string; payment_code: string; total_vnd: string }[]>('id', 'person_id', 'payment_code', 'total_vnd');
}

async function receiptsOfPayment(schoolId: string, paymentId: string) {
  return app.db('receipts').where({ school_id: schoolId, payment_id: paymentId }).orderBy('number');
}

async function paymentOf(schoolId: string, externalId: string) {
  return app.db('payments as p').join('bank_events as e', (j) => j.on('e.school_id', '=', 'p.school_id').andOn('e.id', '=', 'p.bank_event_id')).where({ 'p.school_id': schoolId, 'e.external_id': externalId }).first('p.id', 'p.person_id');
}

describe('issuing receipts for payments', () => {
  test('when 1,002 payments arrive at once in three schools while several sweepers run, each series is numbered exactly 1..N and each payment has one receipt', async () => {
    const perSchool = 334;
    const work: Promise<unknown>[] = [];
    for (const school of schools) {
      for (const inv of await openInvoices(school, perSchool)) work.push(pay(school, inv.payment_code, Number(inv.total_vnd)));
    }
    // Sweepers racing the payments (and the sweeps the payments themselves request).
    for (let i = 0; i < 4; i++) work.push(issuePendingReceipts(deps()));
    await Promise.all(work);
    await issuePendingReceipts(deps());

    for (const school of schools) {
      const rows = await app.db('receipts').where({ school_id: school.id }).orderBy('number').select('number', 'template_code', 'symbol', 'payment_id');
      expect(rows.map((r) => r.number)).toEqual(Array.from({ length: perSchool }, (_, i) => i + 1));
      expect(new Set(rows.map((r) => `${r.template_code} ${r.symbol}`))).toEqual(new Set(['01BLP0-001 BL-26E']));
      expect(new Set(rows.map((r) => r.payment_id)).size).toBe(perSchool);
      const payments = await app.db('payments').where({ school_id: school.id }).count<{ count: string }[]>('* as count');
      expect(Number(payments[0]!.count)).toBe(perSchool);
      const counter = await app.db('receipt_number_counters').where({ school_id: school.id, symbol: 'BL-26E' }).first();
      expect(counter.next_number).toBe(perSchool + 1);
    }
  }, 120_000);

  test('a receipt covers only the receipt-kind items of the payment, with the amount in words, and its signature verifies until a field is altered', async () => {
    const school = schools[0]!;
    const [inv] = await openInvoices(school, 1);
    const t = await pay(school, inv!.payment_code, Number(inv!.total_vnd));
    await issuePendingReceipts(deps());
    const payment = await paymentOf(school.id, t.externalId);
    const [receipt] = await receiptsOfPayment(school.id, payment.id);
    const lines = await app.db('invoice_lines as l').join('fee_items as f', (j) => j.on('f.school_id', '=', 'l.school_id').andOn('f.id', '=', 'l.fee_item_id')).where({ 'l.school_id': school.id, 'l.invoice_id': inv!.id }).select('l.total_vnd', 'f.document_kind');
    const receiptKind = lines.filter((l) => l.document_kind === 'receipt').reduce((s, l) => s + Number(l.total_vnd), 0);
    expect(Number(receipt.total_vnd)).toBe(receiptKind);
    expect(receipt.content.items.reduce((s: number, i: { amount_vnd: number }) => s + i.amount_vnd, 0)).toBe(receiptKind);
    expect(receipt.content).toMatchObject({ payer_name: 'TRAN THI BICH', channel: 'Chuyển khoản ngân hàng', school: { name: 'Trường Tiểu học Nguyễn Trãi', tax_code: '0312000104' } });
    expect(receipt.content.student.personal_id_masked).toMatch(/^\d{3}\*{6}\d{3}$/);
    expect(receipt.content.total_in_words).toMatch(/ đồng$/);

    const key = await app.db('receipt_signing_keys').where({ school_id: school.id, id: receipt.signing_key_id }).first();
    expect(verifyContent(receipt.content, receipt.signature, key.public_key_pem)).toBe(true);
    expect(verifyContent({ ...receipt.content, total_vnd: receipt.content.total_vnd + 1 }, receipt.signature, key.public_key_pem)).toBe(false);
    expect(verifyContent({ ...receipt.content, student: { ...receipt.content.student, name: 'Nguyễn Văn Khác' } }, receipt.signature, key.public_key_pem)).toBe(false);
  });

  test('issuing twice for the same payment yields one receipt', async () => {
    const school = schools[0]!;
    const [inv] = await openInvoices(school, 1);
    const t = await pay(school, inv!.payment_code, 100000);
    const payment = await paymentOf(school.id, t.externalId);
    const results = await Promise.all([issueReceiptsForPayments(deps(), school.id, [payment.id]), issueReceiptsForPayments(deps(), school.id, [payment.id]), issuePendingReceipts(deps())]);
    expect(results.length).toBe(3);
    expect(await issueReceiptsForPayments(deps(), school.id, [payment.id])).toBe(0);
    expect(await receiptsOfPayment(school.id, payment.id)).toHaveLength(1);
  });

  test('a rolled-back issuing transaction burns no number', async () => {
    const school = schools[1]!;
    const series = (await findIssuingSeries(app.db, school.id, app.clock.now()))!;
    const before = (await app.db('receipt_number_counters').where({ school_id: school.id, symbol: series.symbol }).first()).next_number;
    await expect(
      app.db.transaction(async (trx) => {
        expect(await takeNumbers(trx, series, 3)).toBe(before);
        throw new Error('the issuing failed after taking numbers');
      }),
    ).rejects.toThrow('the issuing failed');
    const [inv] = await openInvoices(school, 1);
    const t = await pay(school, inv!.payment_code, 50000);
    await issuePendingReceipts(deps());
    const payment = await paymentOf(school.id, t.externalId);
    const [receipt] = await receiptsOfPayment(school.id, payment.id);
    expect(receipt.number).toBe(before);
  });

  test('when the bank reverses a bill payment, its receipt is cancelled automatically and stays in the series', async () => {
    const school = schools[1]!;
    const [inv] = await openInvoices(school, 1);
    const e = endpoints.get(school.id)!;
    const txId = `BP${Date.now()}`;
    const send = async (path: string, body: object) => {
      const raw = JSON.stringify(body);
      const id = `msg_${seq++}`;
      const ts = app.clock.now();
      const sig = new Webhook(e.billpaySecret).sign(id, ts, raw);
      return request(app.baseUrl).post(`/billpay/${e.billpayId}/${path}`).set({ 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)), 'webhook-signature': sig }).send(raw);
    };
    const paid = await send('payments', { bank_transaction_id: txId, customer_code: inv!.payment_code, amount_vnd: Number(inv!.total_vnd), paid_at: app.clock.now().toISOString() });
    expect(paid.status).toBe(200);
    await issuePendingReceipts(deps());
    const payment = await app.db('payments as p').join('bank_events as b', (j) => j.on('b.school_id', '=', 'p.school_id').andOn('b.id', '=', 'p.bank_event_id')).where({ 'p.school_id': school.id, 'b.external_id': txId }).first('p.id');
    const [receipt] = await receiptsOfPayment(school.id, payment.id);
    expect(receipt).toBeDefined();

    const reversed = await send('reversals', { bank_transaction_id: `${txId}R`, original_transaction_id: txId, reason: 'Khách hàng hủy giao dịch' });
    expect(reversed.status).toBe(200);
    await issuePendingReceipts(deps());
    const cancellation = await app.db('receipt_cancellations').where({ school_id: school.id, receipt_id: receipt.id }).first();
    expect(cancellation).toMatchObject({ cause: 'payment_reversed' });
    expect(await receiptsOfPayment(school.id, payment.id)).toHaveLength(1);
    expect(await app.db('tax_outbox').where({ school_id: school.id, receipt_id: receipt.id }).orderBy('action').pluck('action')).toEqual(['cancel', 'issue']);
  });

  test('when a payment is moved to another student, its receipt is cancelled and a replacement for the right student references it', async () => {
    const school = schools[0]!;
    const [wrong, right] = await openInvoices(school, 2, 5);
    const t = await pay(school, wrong!.payment_code, 120000);
    await issuePendingReceipts(deps());
    const payment = await paymentOf(school.id, t.externalId);
    const [original] = await receiptsOfPayment(school.id, payment.id);
    expect(original.person_id).toBe(wrong!.person_id);

    const res = await request(app.baseUrl)
      .post(`/v1/schools/${school.id}/payments/${payment.id}/corrections`)
      .set('authorization', `Bearer ${app.tokenFor(school.accountant)}`)
      .send({ payment_code: right!.payment_code, reason: 'Phụ huynh ghi nhầm mã của anh chị em' });
    expect(res.status).toBe(201);
    await issuePendingReceipts(deps());
    const receipts = await receiptsOfPayment(school.id, payment.id);
    expect(receipts).toHaveLength(2);
    expect(await app.db('receipt_cancellations').where({ school_id: school.id, receipt_id: original.id }).first()).toMatchObject({ cause: 'payment_corrected' });
    expect(receipts[1]).toMatchObject({ kind: 'replacement', related_receipt_id: original.id, person_id: right!.person_id });
    expect(receipts[1].number).toBeGreaterThan(original.number);
  });
});

describe('GET /receipts/{lookup_code}', () => {
  async function paidReceipt() {
    const school = schools[0]!;
    const [inv] = await openInvoices(school, 1);
    const t = await pay(school, inv!.payment_code, Number(inv!.total_vnd));
    await issuePendingReceipts(deps());
    const payment = await paymentOf(school.id, t.externalId);
    const [receipt] = await receiptsOfPayment(school.id, payment.id);
    return receipt;
  }

  test('the holder of the code sees the receipt page, its signed data with a valid signature, and a PDF whose text has the Vietnamese strings', async () => {
    const receipt = await paidReceipt();
    const page = await request(app.baseUrl).get(`/receipts/${receipt.lookup_code}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('Trường Tiểu học Nguyễn Trãi');
    expect(page.text).toContain(receipt.content.student.name);
    expect(page.text).toContain('hợp lệ');

    const json = await request(app.baseUrl).get(`/receipts/${receipt.lookup_code}/json`);
    expect(json.status).toBe(200);
    expectContract(json, 'get', '/receipts/{lookup_code}/json');
    expect(json.body).toMatchObject({ status: 'issued', signature: { algorithm: 'Ed25519', valid: true } });
    expect(verifyContent(json.body.content, json.body.signature.value, json.body.signature.public_key_pem)).toBe(true);
    expect(verifyContent({ ...json.body.content, payer_name: 'NGUOI KHAC' }, json.body.signature.value, json.body.signature.public_key_pem)).toBe(false);

    const pdf = await request(app.baseUrl).get(`/receipts/${receipt.lookup_code}/pdf`).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(pdf.status).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    const text = await pdfText(pdf.body as Buffer);
    expect(text).toContain('Trường Tiểu học Nguyễn Trãi');
    expect(text).toContain(receipt.content.student.name);
    expect(text).toContain(receipt.content.total_in_words);
    expect(text).toContain('BIÊN LAI THU TIỀN');
    expect(text).toContain(`Ký hiệu: ${receipt.symbol}`);
    expect(text).toContain(`${app.baseUrl}/receipts/${receipt.lookup_code}`);
  });

  test('an unknown code and a malformed one answer the same 404', async () => {
    const unknown = await request(app.baseUrl).get('/receipts/0000000000000000');
    const malformed = await request(app.baseUrl).get('/receipts/not-a-code');
    for (const res of [unknown, malformed]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('RECEIPT_NOT_FOUND');
      expectContract(res, 'get', '/receipts/{lookup_code}');
    }
    const pdf = await request(app.baseUrl).get('/receipts/0000000000000000/pdf');
    expect(pdf.status).toBe(404);
  });
});

describe('staff: series, cancel, replace, adjust, usage', () => {
  const auth = (personalId: string) => ({ authorization: `Bearer ${app.tokenFor(personalId)}` });
  async function newReceipt(school: School) {
    const [inv] = await openInvoices(school, 1);
    const t = await pay(school, inv!.payment_code, Number(inv!.total_vnd));
    await issuePendingReceipts(deps());
    const payment = await paymentOf(school.id, t.externalId);
    return (await receiptsOfPayment(school.id, payment.id))[0];
  }
  const counts = async () => ({
    receipts: Number((await app.db('receipts').count<{ c: string }[]>('* as c'))[0]!.c),
    cancellations: Number((await app.db('receipt_cancellations').count<{ c: string }[]>('* as c'))[0]!.c),
    series: Number((await app.db('receipt_series').count<{ c: string }[]>('* as c'))[0]!.c),
    outbox: Number((await app.db('tax_outbox').count<{ c: string }[]>('* as c'))[0]!.c),
  });

  test('a school admin creates a series; a malformed symbol or a symbol of another year is refused with its code and writes nothing', async () => {
    const school = schools[1]!;
    const base = `/v1/schools/${school.id}/receipt-series`;
    const before = await counts();
    for (const [symbol, code] of [['BI25E', 'SERIES_SYMBOL_INVALID'], ['bi-27e', 'SERIES_SYMBOL_INVALID'], ['BI-2027E', 'SERIES_SYMBOL_INVALID'], ['BI-26E', 'SERIES_YEAR_MISMATCH']] as const) {
      const res = await request(app.baseUrl).post(base).set(auth(school.admin)).send({ template_code: '01BLP0-002', symbol, title: 'BIÊN LAI THU TIỀN', valid_from: '2027-01-01' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe(code);
      expectContract(res, 'post', '/v1/schools/{school_id}/receipt-series');
    }
    expect(await counts()).toEqual(before);
    const ok = await request(app.baseUrl).post(base).set(auth(school.admin)).send({ template_code: '01BLP0-002', symbol: 'BI-27E', title: 'BIÊN LAI THU TIỀN', valid_from: '2027-01-01', valid_to: '2027-12-31' });
    expect(ok.status).toBe(201);
    expectContract(ok, 'post', '/v1/schools/{school_id}/receipt-series');
    const again = await request(app.baseUrl).post(base).set(auth(school.admin)).send({ template_code: '01BLP0-002', symbol: 'BI-27E', title: 'x', valid_from: '2027-01-01' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('SERIES_EXISTS');
    const byAccountant = await request(app.baseUrl).post(base).set(auth(school.accountant)).send({ template_code: '01BLP0-003', symbol: 'BI-27E', title: 'x', valid_from: '2027-01-01' });
    expect(byAccountant.status).toBe(403);
    const list = await request(app.baseUrl).get(base).set(auth(school.accountant));
    expect(list.status).toBe(200);
    expectContract(list, 'get', '/v1/schools/{school_id}/receipt-series');
    expect(list.body.data.map((s: { symbol: string }) => s.symbol)).toEqual(expect.arrayContaining(['BL-26E', 'BI-27E']));
    const closed = await request(app.baseUrl).patch(`${base}/${ok.body.id}`).set(auth(school.admin)).send({ valid_to: '2027-06-30' });
    expect(closed.status).toBe(200);
    expect(closed.body.valid_to).toBe('2027-06-30');
  });

  test('cancel, then replace: cancelling twice, replacing an active receipt and replacing twice are refused with their codes and write nothing', async () => {
    const school = schools[0]!;
    const receipt = await newReceipt(school);
    const base = `/v1/schools/${school.id}/receipts/${receipt.id}`;
    const early = await request(app.baseUrl).post(`${base}/replacements`).set(auth(school.accountant)).send({ reason: 'Sửa tên người nộp' });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('RECEIPT_NOT_CANCELLED');

    const cancelled = await request(app.baseUrl).post(`${base}/cancel`).set(auth(school.accountant)).send({ reason: 'Sai tên người nộp tiền' });
    expect(cancelled.status).toBe(200);
    expectContract(cancelled, 'post', '/v1/schools/{school_id}/receipts/{receipt_id}/cancel');
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancellation: { cause: 'manual', reason: 'Sai tên người nộp tiền' } });
    let before = await counts();
    const twice = await request(app.baseUrl).post(`${base}/cancel`).set(auth(school.accountant)).send({ reason: 'Lần nữa' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('RECEIPT_ALREADY_CANCELLED');
    expect(await counts()).toEqual(before);

    const replaced = await request(app.baseUrl).post(`${base}/replacements`).set(auth(school.accountant)).send({ reason: 'Sửa tên người nộp', payer_name: 'Trần Thị Bích' });
    expect(replaced.status).toBe(201);
    expectContract(replaced, 'post', '/v1/schools/{school_id}/receipts/{receipt_id}/replacements');
    expect(replaced.body).toMatchObject({ kind: 'replacement', related_receipt_id: receipt.id, total_vnd: Number(receipt.total_vnd), status: 'issued', content: { payer_name: 'Trần Thị Bích', related: { number: receipt.number } } });
    expect(replaced.body.number).toBeGreaterThan(receipt.number);

    before = await counts();
    const second = await request(app.baseUrl).post(`${base}/replacements`).set(auth(school.accountant)).send({ reason: 'Thêm lần nữa' });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('RECEIPT_ALREADY_REPLACED');
    const ofReplacement = await request(app.baseUrl).post(`/v1/schools/${school.id}/receipts/${replaced.body.id}/replacements`).set(auth(school.accountant)).send({ reason: 'Thay thế bản thay thế' });
    expect(ofReplacement.status).toBe(409);
    expect(ofReplacement.body.error.code).toBe('RECEIPT_NOT_CANCELLED');
    expect(await counts()).toEqual(before);

    const page = await request(app.baseUrl).get(`/v1/schools/${school.id}/receipts?status=cancelled&limit=100`).set(auth(school.accountant));
    expect(page.status).toBe(200);
    expectContract(page, 'get', '/v1/schools/{school_id}/receipts');
    expect(page.body.data.map((r: { id: string }) => r.id)).toContain(receipt.id);
    const lookup = await request(app.baseUrl).get(`/receipts/${receipt.lookup_code}/json`);
    expect(lookup.body.status).toBe('cancelled');
  });

  test('an adjustment receipt changes the amount and may not take it below zero; the usage report counts issued and cancelled numbers', async () => {
    const school = schools[1]!;
    const receipt = await newReceipt(school);
    const base = `/v1/schools/${school.id}/receipts/${receipt.id}/adjustments`;
    const down = await request(app.baseUrl).post(base).set(auth(school.accountant)).send({ amount_vnd: -35000, description: 'Giảm tiền ăn 1 ngày nghỉ', reason: 'Học sinh nghỉ ốm' });
    expect(down.status).toBe(201);
    expectContract(down, 'post', '/v1/schools/{school_id}/receipts/{receipt_id}/adjustments');
    expect(down.body).toMatchObject({ kind: 'adjustment', total_vnd: -35000, related_receipt_id: receipt.id });
    const before = await counts();
    const tooMuch = await request(app.baseUrl).post(base).set(auth(school.accountant)).send({ amount_vnd: -Number(receipt.total_vnd), description: 'Giảm hết', reason: 'Thử giảm quá' });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error.code).toBe('ADJUSTMENT_TOO_LARGE');
    expect(await counts()).toEqual(before);

    const usage = await request(app.baseUrl).get(`/v1/schools/${school.id}/receipt-usage?from=2026-11-01&to=2026-11-30`).set(auth(school.accountant));
    expect(usage.status).toBe(200);
    expectContract(usage, 'get', '/v1/schools/{school_id}/receipt-usage');
    const rows = await app.db('receipts as r').leftJoin('receipt_cancellations as c', (j) => j.on('c.school_id', '=', 'r.school_id').andOn('c.receipt_id', '=', 'r.id')).where('r.school_id', school.id).select('r.number', 'r.total_vnd', 'c.receipt_id as cancelled');
    const [line] = usage.body.series;
    expect(line).toEqual({
      template_code: '01BLP0-001',
      symbol: 'BL-26E',
      first_number: 1,
      last_number: rows.length,
      issued_count: rows.length,
      cancelled_count: rows.filter((r) => r.cancelled).length,
      total_vnd: rows.filter((r) => !r.cancelled).reduce((s, r) => s + Number(r.total_vnd), 0),
    });
    expect(line.cancelled_count).toBeGreaterThan(0);
  });

  test('the public key endpoint publishes the key that verifies the school\'s receipts', async () => {
    const school = schools[0]!;
    const res = await request(app.baseUrl).get(`/receipt-signing-keys/${school.id}`);
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/receipt-signing-keys/{school_id}');
    const receipt = await app.db('receipts').where({ school_id: school.id }).first();
    expect(verifyContent(receipt.content, receipt.signature, res.body.public_key_pem)).toBe(true);
  });
});
