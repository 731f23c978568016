import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { SIGNERS } from '../../src/integrations/banks';
import type { SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { issuePendingReceipts, issueReceiptsForPayments } from '../../src/modules/receipts/receipt-issuing.service';
import { verifyContent } from '../../src/modules/receipts/receipt-signing';
import { findIssuingSeries, takeNumbers } from '../../src/modules/receipts/receipts.repository';
import { createLogger } from '../../src/logger';
import { startTestApp, type TestApp } from '../support/test-app';
import { demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { pdfText } from '../support/pdf-text';

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
  const principal = await loadPrincipal(app.db, school.accountant);
  const ctx = { db: app.db, clock: app.clock, principal };
  const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month });
  await executeInvoiceRun(app.db, app.clock, school.id, run.id);
  await issueRunInvoices(ctx, school.id, run.id);
}

const logger = createLogger('silent');
const deps = () => ({ db: app.db, clock: app.clock, logger });

beforeAll(async () => {
  app = await startTestApp();
  schools = [await demoSchool(app.db, 3), await demoSchool(app.db, 1)];
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
  test('when many payments arrive at once in two schools while several sweepers run, each series is numbered exactly 1..N and each payment has one receipt', async () => {
    const perSchool = 60;
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
  }, 60_000);

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
