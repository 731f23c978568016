import request from 'supertest';
import { SIGNERS } from '../../src/integrations/banks';
import type { InboundRequest, SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { receiveBankNotifications } from '../../src/modules/payments/bank-events.service';
import { findBundleCodes, findPaymentCodes, isValidBundleCode, isValidPaymentCode, newBundleCode, newPaymentCode } from '../../src/lib/payment-code';
import { decodeVietQr } from '../../src/lib/vietqr';
import { accountBalance, findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { issuePendingReceipts, settleRequestedReceiptIssuing } from '../../src/modules/receipts/receipt-issuing.service';
import { createLogger } from '../../src/logger';
import { demoGuardians, type DemoFamily } from '../../seeds/demo-data';
import { billPeriod, demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { fingerprint, fingerprintDiff } from '../support/db-fingerprint';
import { startTestApp, type TestApp } from '../support/test-app';
import { expectRollupsMatchHistory } from '../support/report-rollups';

/**
 * Combined payments (issue 6): one code and one VietQR for chosen invoices of several children at
 * one school. The invariants, each with the test that would catch its violation:
 * - one bank transaction is one payment, whatever it pays (replays and concurrent duplicate
 *   deliveries record nothing more);
 * - the money goes exactly as the plan shown before paying says (children eldest first, oldest due
 *   first; each invoice up to what it owes), each invoice's paid amount is its allocations, and
 *   every journal balances with each child's receivable credited with what their invoices got;
 * - one receipt per school for the combined transfer, covering both children's invoices;
 * - bundle codes and invoice codes are disjoint namespaces;
 * - a guardian can bundle only their own wards' open invoices; refusals write nothing.
 */
let app: TestApp;
type School = Awaited<ReturnType<typeof demoSchool>>;
let school: School;
let otherSchool: School;
let family: DemoFamily;
let neighbours: DemoFamily;
let children: { id: string; full_name: string; date_of_birth: string }[];
let direct: { id: string; secret: string; accountNumber: string };
let seq = 0;

const logger = createLogger('silent');
const auth = (personalId: string) => ({ Authorization: `Bearer ${app.tokenFor(personalId)}` });

async function issueMonth(s: School, month: string): Promise<void> {
  await billPeriod(app, s.id, s.accountant, month === 'year' ? { kind: 'year', academicYear: '2026-2027' } : { kind: 'month', month });
}

async function link(guardian: string, childPersonalId: string) {
  const child = await app.db('people').where({ personal_id: childPersonalId }).first();
  const res = await request(app.baseUrl).post('/v1/me/guardian-links').set(auth(guardian)).send({ student_personal_id: child.personal_id, student_date_of_birth: child.date_of_birth });
  expect([res.status, res.body.status]).toEqual([201, 'verified']);
}

/** The child's invoice for a month (period_start), with what it still asks. */
async function invoiceOf(personId: string, periodStart: string) {
  const i = await app.db('invoices').where({ person_id: personId, period_start: periodStart }).first();
  return { id: i.id as string, school_id: i.school_id as string, due: Number(i.total_vnd) - Number(i.credited_vnd) - Number(i.paid_vnd), status: i.status as string, payment_code: i.payment_code as string };
}

const bundle = (guardian: string, invoiceIds: string[], key?: string) => {
  const req = request(app.baseUrl).post('/v1/me/payment-bundles').set(auth(guardian));
  return (key ? req.set('Idempotency-Key', key) : req).send({ invoice_ids: invoiceIds });
};

function signedTransfer(description: string, amountVnd: number) {
  seq++;
  const t: SimTransfer = { externalId: `BND${seq}`, amountVnd, accountNumber: direct.accountNumber, description, occurredAt: app.clock.now(), bankReference: `FTBND${seq}`, payerName: 'NGUYEN VAN BA' };
  return { t, signed: SIGNERS.direct(t, direct.secret, app.clock.now()) };
}

async function deliver(signed: ReturnType<typeof signedTransfer>['signed']) {
  return request(app.baseUrl).post(`/callbacks/direct/${direct.id}`).set(signed.headers).send(signed.body ?? '');
}

async function paymentsOfEvent(externalId: string) {
  return app.db('payments as p').join('bank_events as e', (j) => j.on('e.school_id', '=', 'p.school_id').andOn('e.id', '=', 'p.bank_event_id')).where({ 'e.external_id': externalId }).select('p.*');
}

async function allocationsOf(paymentId: string) {
  const rows = await app.db('allocations').where({ payment_id: paymentId }).select('invoice_id', 'amount_vnd');
  return Object.fromEntries(rows.map((r) => [r.invoice_id, Number(r.amount_vnd)]));
}

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 0);
  otherSchool = await demoSchool(app.db, 1);
  [family, neighbours] = demoGuardians() as [DemoFamily, DemoFamily];
  for (const month of ['2026-11', '2026-12', '2027-01', '2027-02']) await issueMonth(school, month);
  await issueMonth(otherSchool, '2026-11');
  for (const c of family.children) await link(family.father.personalId, c);
  for (const c of neighbours.children) await link(neighbours.father.personalId, c);
  // Eldest first, as the plan orders them.
  children = await app.db('people').whereIn('personal_id', family.children).orderBy('date_of_birth').select('id', 'full_name', 'date_of_birth');
  const endpoint = await app.db('bank_endpoints').where({ school_id: school.id, provider: 'direct' }).first();
  const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
  direct = { id: endpoint.id, secret: endpoint.secret, accountNumber: account.account_number };
}, 120_000);
afterAll(() => app.close());

afterEach(async () => {
  await settleRequestedReceiptIssuing(app.db);
  for (const s of [school, otherSchool]) expect(await findLedgerViolations(app.db, s.id)).toEqual([]);
  await expectRollupsMatchHistory(app.db, [school.id, otherSchool.id]);
});

describe('two children paid with one combined payment', () => {
  test('the plan is shown before paying; one signed callback settles both invoices as planned, with one payment, a balanced journal and one receipt for the school', async () => {
    const [elder, younger] = children;
    const elderInv = await invoiceOf(elder!.id, '2026-11-01');
    const youngerInv = await invoiceOf(younger!.id, '2026-11-01');
    // Named youngest first: the plan's order does not depend on the order given.
    const created = await bundle(family.father.personalId, [youngerInv.id, elderInv.id], 'bundle-nov-1');
    expect(created.status).toBe(201);
    expectContract(created, 'post', '/v1/me/payment-bundles');
    const b = created.body;
    expect(b).toMatchObject({ status: 'awaiting_payment', total_vnd: elderInv.due + youngerInv.due, due_vnd: elderInv.due + youngerInv.due, paid_vnd: 0, school: { id: school.id }, transfer_description: `HP ${b.payment_code}` });
    expect(b.allocation_plan.map((p: { position: number; student_id: string; invoice_id: string; planned_vnd: number }) => [p.position, p.student_id, p.invoice_id, p.planned_vnd]))
      .toEqual([[1, elder!.id, elderInv.id, elderInv.due], [2, younger!.id, youngerInv.id, youngerInv.due]]);
    expect(b.students.map((s: { student_id: string }) => s.student_id)).toEqual([elder!.id, younger!.id]);
    expect(isValidBundleCode(b.payment_code)).toBe(true);
    expect(isValidPaymentCode(b.payment_code)).toBe(false);
    const qr = decodeVietQr(b.vietqr_payload);
    expect(qr).toMatchObject({ accountNumber: direct.accountNumber, amountVnd: b.total_vnd, billNumber: b.payment_code, purpose: `HP ${b.payment_code}` });
    expect(b.vietqr_svg).toMatch(/^<svg/);
    // The same key answers the same bundle; nothing new is made.
    const again = await bundle(family.father.personalId, [youngerInv.id, elderInv.id], 'bundle-nov-1');
    expect([again.status, again.body.id, again.headers['idempotent-replayed']]).toEqual([201, b.id, 'true']);

    const { t, signed } = signedTransfer(`NGUYEN VAN BA chuyen tien HP ${b.payment_code}`, b.total_vnd);
    const res = await deliver(signed);
    expect(res.status).toBe(200);
    await settleRequestedReceiptIssuing(app.db);

    const payments = await paymentsOfEvent(t.externalId);
    expect(payments).toHaveLength(1);
    const payment = payments[0]!;
    expect(payment).toMatchObject({ person_id: elder!.id, payment_code: b.payment_code, status: 'attributed' });
    expect(await allocationsOf(payment.id)).toEqual({ [elderInv.id]: elderInv.due, [youngerInv.id]: youngerInv.due });
    for (const inv of [elderInv, youngerInv]) expect((await invoiceOf(inv.id === elderInv.id ? elder!.id : younger!.id, '2026-11-01')).status).toBe('paid');
    const journal = await app.db('journals').where({ kind: 'payment_received', reference_id: payment.id }).first();
    const entries = await app.db('ledger_entries').where({ journal_id: journal.id }).orderBy('entry_no').select('account_kind', 'account_key', 'amount_vnd');
    expect(entries.map((e) => [e.account_kind, e.account_key, Number(e.amount_vnd)])).toEqual([
      ['bank_clearing', expect.any(String), b.total_vnd],
      ['receivable', elder!.id, -elderInv.due],
      ['receivable', younger!.id, -youngerInv.due],
    ]);

    await issuePendingReceipts({ db: app.db, clock: app.clock, logger });
    const receipts = await app.db('receipts').where({ school_id: school.id, payment_id: payment.id });
    expect(receipts).toHaveLength(1);
    expect([...receipts[0].invoice_ids].sort()).toEqual([elderInv.id, youngerInv.id].sort());
    const content = receipts[0].content;
    expect(content.student.name).toBe(`${elder!.full_name}, ${younger!.full_name}`);
    expect(content.items.some((i: { description: string }) => i.description.endsWith(elder!.full_name))).toBe(true);
    expect(content.items.some((i: { description: string }) => i.description.endsWith(younger!.full_name))).toBe(true);
    expect(content.total_vnd).toBe(content.items.reduce((s: number, i: { amount_vnd: number }) => s + i.amount_vnd, 0));

    const read = await request(app.baseUrl).get(`/v1/me/payment-bundles/${b.id}`).set(auth(family.father.personalId));
    expect(read.status).toBe(200);
    expectContract(read, 'get', '/v1/me/payment-bundles/{bundle_id}');
    expect(read.body).toMatchObject({ status: 'paid', due_vnd: 0, paid_vnd: b.total_vnd, vietqr_payload: null, payments: [{ id: payment.id, amount_vnd: b.total_vnd }] });

    // The bank sends it again: the same answer, and nothing is written.
    const before = await fingerprint(app.db);
    const replay = await deliver(signed);
    await settleRequestedReceiptIssuing(app.db);
    expect([replay.status, replay.body]).toEqual([res.status, res.body]);
    expect(fingerprintDiff(before, await fingerprint(app.db))).toEqual({});
  });

  test('concurrent duplicate deliveries of one combined transfer record exactly one payment, allocated as planned', async () => {
    const [elder, younger] = children;
    const elderInv = await invoiceOf(elder!.id, '2026-12-01');
    const youngerInv = await invoiceOf(younger!.id, '2026-12-01');
    const b = (await bundle(family.father.personalId, [elderInv.id, youngerInv.id])).body;
    const { t, signed } = signedTransfer(`HP ${b.payment_code}`, b.total_vnd);
    const replies = await Promise.all(Array.from({ length: 8 }, () => deliver(signed)));
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await app.db('bank_events').where({ external_id: t.externalId })).toHaveLength(1);
    const payments = await paymentsOfEvent(t.externalId);
    expect(payments).toHaveLength(1);
    expect(await allocationsOf(payments[0]!.id)).toEqual({ [elderInv.id]: elderInv.due, [youngerInv.id]: youngerInv.due });
    expect(await app.db('allocations').whereIn('invoice_id', [elderInv.id, youngerInv.id]).sum<{ sum: string }[]>('amount_vnd as sum').then((r) => Number(r[0]!.sum))).toBe(b.total_vnd);
  });

  test('less than the total pays the plan in order and stops where the money does; more pays the rest, then becomes the first child\'s credit', async () => {
    const [elder, younger] = children;
    const elderInv = await invoiceOf(elder!.id, '2027-01-01');
    const youngerInv = await invoiceOf(younger!.id, '2027-01-01');
    const b = (await bundle(family.father.personalId, [youngerInv.id, elderInv.id])).body;
    const short = 1000;
    const under = signedTransfer(`HP ${b.payment_code}`, b.total_vnd - short);
    expect((await deliver(under.signed)).status).toBe(200);
    const [first] = await paymentsOfEvent(under.t.externalId);
    expect(await allocationsOf(first.id)).toEqual({ [elderInv.id]: elderInv.due, [youngerInv.id]: youngerInv.due - short });
    const partly = await request(app.baseUrl).get(`/v1/me/payment-bundles/${b.id}`).set(auth(family.father.personalId));
    expect(partly.body).toMatchObject({ status: 'partially_paid', due_vnd: short });
    expect(decodeVietQr(partly.body.vietqr_payload).amountVnd).toBe(short);

    // The parent pays again under the same code, too much: the remaining 1,000, then the children's
    // other open invoices (February's, the elder's first), then 5,000 on the elder child's credit.
    const elderFeb = await invoiceOf(elder!.id, '2027-02-01');
    const youngerFeb = await invoiceOf(younger!.id, '2027-02-01');
    const creditBefore = await accountBalance(app.db, school.id, 'credit', elder!.id);
    const youngerCreditBefore = await accountBalance(app.db, school.id, 'credit', younger!.id);
    const over = signedTransfer(`HP ${b.payment_code}`, short + elderFeb.due + youngerFeb.due + 5000);
    expect((await deliver(over.signed)).status).toBe(200);
    const [second] = await paymentsOfEvent(over.t.externalId);
    expect(await allocationsOf(second.id)).toEqual({ [youngerInv.id]: short, [elderFeb.id]: elderFeb.due, [youngerFeb.id]: youngerFeb.due });
    // Credit is a liability: a credit balance is negative in debit-positive terms.
    expect(await accountBalance(app.db, school.id, 'credit', elder!.id)).toBe(creditBefore - 5000);
    expect(await accountBalance(app.db, school.id, 'credit', younger!.id)).toBe(youngerCreditBefore);
    expect((await request(app.baseUrl).get(`/v1/me/payment-bundles/${b.id}`).set(auth(family.father.personalId))).body).toMatchObject({ status: 'paid', due_vnd: 0 });
  });

  test('a combined payment cannot be moved to one student by a correction', async () => {
    const bundled = await app.db('payments').where({ school_id: school.id, person_id: children[0]!.id }).whereNotNull('payment_code').select('id', 'payment_code');
    const payment = bundled.find((p) => isValidBundleCode(p.payment_code))!;
    const other = await app.db('invoices').where({ school_id: school.id }).whereNotIn('person_id', children.map((c) => c.id)).first();
    const before = await fingerprint(app.db, { except: ['idempotency_keys'] });
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments/${payment.id}/corrections`).set(auth(school.accountant)).send({ payment_code: other.payment_code, reason: 'chuyển nhầm' });
    expect([res.status, res.body.error.code]).toEqual([409, 'PAYMENT_IS_COMBINED']);
    expect(fingerprintDiff(before, await fingerprint(app.db, { except: ['idempotency_keys'] }))).toEqual({});
  });
});

describe('bundle codes and invoice codes', () => {
  test('are disjoint namespaces: no code is valid in both, and a scan for one never finds the other', () => {
    for (let n = 0; n < 5000; n++) {
      const b = newBundleCode('ABC');
      const i = newPaymentCode('ABC');
      expect([isValidBundleCode(b), isValidPaymentCode(b), isValidPaymentCode(i), isValidBundleCode(i)]).toEqual([true, false, true, false]);
      expect(findPaymentCodes(`HP ${b.toLowerCase()}`)).toEqual([]);
      expect(findBundleCodes(`HP ${i}`)).toEqual([]);
    }
  });

  test('a bundle code is not an invoice\'s code to the services that take one (manual payments)', async () => {
    const b = await app.db('payment_bundles').where({ school_id: school.id }).first();
    const before = await fingerprint(app.db, { except: ['idempotency_keys'] });
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments`).set(auth(school.accountant)).send({ payment_code: b.code, amount_vnd: 1000, reason: 'tiền mặt' });
    expect([res.status, res.body.error.code]).toEqual([422, 'PAYMENT_CODE_UNKNOWN']);
    expect(fingerprintDiff(before, await fingerprint(app.db, { except: ['idempotency_keys'] }))).toEqual({});
  });

  test('a transfer naming one child\'s invoice code pays that child only, even when the family has bundles', async () => {
    const inv = await invoiceOf(children[1]!.id, '2027-01-01');
    expect(inv.status).toBe('paid');
    const { t, signed } = signedTransfer(`HP ${inv.payment_code}`, 7000);
    expect((await deliver(signed)).status).toBe(200);
    const [payment] = await paymentsOfEvent(t.externalId);
    expect(payment).toMatchObject({ person_id: children[1]!.id, payment_code: inv.payment_code });
  });
});

describe('bad input writes nothing', () => {
  // Fresh open invoices (everything before is settled by the tests above).
  beforeAll(() => issueMonth(school, '2027-03'), 60_000);

  async function refused(res: request.Test, status: number, code: string) {
    const before = await fingerprint(app.db, { except: ['idempotency_keys'] });
    const r = await res;
    expect([r.status, r.body.error?.code]).toEqual([status, code]);
    expect(fingerprintDiff(before, await fingerprint(app.db, { except: ['idempotency_keys'] }))).toEqual({});
    return r;
  }

  test('another family\'s invoice is 404, mixed with my own or alone', async () => {
    const theirs = await app.db('people').where({ personal_id: neighbours.children[0] }).first();
    const theirInv = await invoiceOf(theirs.id, '2026-11-01');
    const mine = await invoiceOf(children[0]!.id, '2027-03-01');
    // (The elder's 5,000 of credit paid part of it at issue.)
    expect(['open', 'partially_paid']).toContain(mine.status);
    await refused(bundle(family.father.personalId, [theirInv.id]), 404, 'INVOICE_NOT_FOUND');
    const mixed = await refused(bundle(family.father.personalId, [mine.id, theirInv.id]), 404, 'INVOICE_NOT_FOUND');
    expect(mixed.body.error.details).toEqual([{ invoice_id: theirInv.id }]);
    await refused(bundle(family.father.personalId, ['inv_00000000000000000000000000000000']), 404, 'INVOICE_NOT_FOUND');
    // Someone with no wards at all.
    await refused(bundle(school.accountant, [theirInv.id]), 404, 'INVOICE_NOT_FOUND');
  });

  test('a paid invoice is 409 INVOICE_NOT_PAYABLE', async () => {
    const paid = await invoiceOf(children[0]!.id, '2026-11-01');
    expect(paid.status).toBe('paid');
    const r = await refused(bundle(family.father.personalId, [paid.id]), 409, 'INVOICE_NOT_PAYABLE');
    expect(r.body.error.details).toEqual([{ invoice_id: paid.id, status: 'paid' }]);
  });

  test('an empty list, an invoice named twice or an unknown field is 400', async () => {
    const inv = await invoiceOf(children[0]!.id, '2026-11-01');
    await refused(bundle(family.father.personalId, []), 400, 'VALIDATION_FAILED');
    await refused(bundle(family.father.personalId, [inv.id, inv.id]), 400, 'VALIDATION_FAILED');
    await refused(request(app.baseUrl).post('/v1/me/payment-bundles').set(auth(family.father.personalId)).send({ invoice_ids: [inv.id], amount_vnd: 1 }), 400, 'UNKNOWN_FIELD');
  });

  test('invoices of two schools are 422 INVOICES_SPAN_SCHOOLS, grouped by school', async () => {
    // The father is also the legal guardian of a child at another school (set up directly).
    const ward = await app.db('enrollments').where({ school_id: otherSchool.id }).whereNotIn('person_id', app.db('guardian_links').select('student_person_id')).first();
    await app.db('guardian_links').insert({ guardian_person_id: (await app.db('people').where({ personal_id: family.father.personalId }).first()).id, student_person_id: ward.person_id, relation: 'legal_guardian', status: 'verified', verified_by: 'chip_card', requested_at: app.clock.now(), updated_at: app.clock.now() });
    const there = await invoiceOf(ward.person_id, '2026-11-01');
    const here = await invoiceOf(children[0]!.id, '2027-03-01');
    const r = await refused(bundle(family.father.personalId, [here.id, there.id]), 422, 'INVOICES_SPAN_SCHOOLS');
    expect(r.body.error.details).toEqual(expect.arrayContaining([{ school_id: school.id, invoice_ids: [here.id] }, { school_id: otherSchool.id, invoice_ids: [there.id] }]));
  });

  test('a bundle is the maker\'s: another guardian of the same children, or another family, gets 404', async () => {
    const b = await app.db('payment_bundles').where({ school_id: school.id }).first();
    for (const who of [neighbours.father.personalId, family.mother.personalId]) {
      const r = await request(app.baseUrl).get(`/v1/me/payment-bundles/${b.id}`).set(auth(who));
      expect([r.status, r.body.error.code]).toEqual([404, 'PAYMENT_BUNDLE_NOT_FOUND']);
    }
  });
});

describe('every provider that carries a payment code', () => {
  beforeAll(() => issueMonth(school, '2027-04'), 60_000);

  async function endpointOf(provider: 'sepay' | 'casso' | 'vnpay') {
    const e = await app.db('bank_endpoints').where({ school_id: school.id, provider }).first();
    return { id: e.id as string, secret: e.secret as string };
  }

  async function send(provider: 'sepay' | 'casso' | 'vnpay', t: SimTransfer) {
    const e = await endpointOf(provider);
    const signed = SIGNERS[provider](t, e.secret, app.clock.now());
    const path = `/callbacks/${provider}/${e.id}`;
    const res = signed.method === 'GET' ? await request(app.baseUrl).get(path).query(signed.query) : await request(app.baseUrl).post(path).set(signed.headers).send(signed.body ?? '');
    expect(res.status).toBe(200);
    return res;
  }

  const transfer = (over: Partial<SimTransfer> & { amountVnd: number }): SimTransfer => {
    seq++;
    return { externalId: `PRV${seq}`, accountNumber: direct.accountNumber, description: 'chuyen tien hoc phi', occurredAt: app.clock.now(), bankReference: `FTPRV${seq}`, payerName: 'NGUYEN VAN BA', ...over };
  };

  test('SePay by its code field alone, Casso by the description; VNPay, whose order is an invoice, holds the money in suspense', async () => {
    const [elder, younger] = children;
    const march = await bundle(family.father.personalId, [(await invoiceOf(elder!.id, '2027-03-01')).id, (await invoiceOf(younger!.id, '2027-03-01')).id]);
    const sepay = transfer({ amountVnd: march.body.total_vnd, paymentCode: march.body.payment_code });
    await send('sepay', sepay);
    expect((await paymentsOfEvent(sepay.externalId))[0]).toMatchObject({ provider: 'sepay', payment_code: march.body.payment_code, person_id: elder!.id });
    expect((await request(app.baseUrl).get(`/v1/me/payment-bundles/${march.body.id}`).set(auth(family.father.personalId))).body.status).toBe('paid');

    const april = await bundle(family.father.personalId, [(await invoiceOf(elder!.id, '2027-04-01')).id, (await invoiceOf(younger!.id, '2027-04-01')).id]);
    const casso = transfer({ amountVnd: april.body.total_vnd, description: `NGUYEN VAN BA chuyen tien ${april.body.payment_code.toLowerCase()} FT123` });
    await send('casso', casso);
    expect((await paymentsOfEvent(casso.externalId))[0]).toMatchObject({ provider: 'casso', payment_code: april.body.payment_code });
    expect((await request(app.baseUrl).get(`/v1/me/payment-bundles/${april.body.id}`).set(auth(family.father.personalId))).body.status).toBe('paid');

    const vnpay = transfer({ amountVnd: 10000, paymentCode: april.body.payment_code, description: `HP ${april.body.payment_code}` });
    const reply = await send('vnpay', vnpay);
    expect(reply.body.RspCode).toBe('01');
    expect((await paymentsOfEvent(vnpay.externalId))[0]).toMatchObject({ status: 'unattributed', person_id: null });
  });

  test('the bank simulator pays a bundle\'s code like an invoice\'s (the README\'s walkthrough)', async () => {
    const [elder, younger] = children;
    await issueMonth(school, '2027-05');
    const may = await bundle(family.father.personalId, [(await invoiceOf(elder!.id, '2027-05-01')).id, (await invoiceOf(younger!.id, '2027-05-01')).id]);
    const res = await request(app.baseUrl).post('/sim/bank/transfers').send({ provider: 'direct', payment_code: may.body.payment_code, amount_vnd: may.body.due_vnd });
    expect([res.status, res.body.reply_status]).toEqual([200, 200]);
    expectContract(res, 'post', '/sim/bank/transfers');
    expect((await request(app.baseUrl).get(`/v1/me/payment-bundles/${may.body.id}`).set(auth(family.father.personalId))).body.status).toBe('paid');
    const unknown = await request(app.baseUrl).post('/sim/bank/transfers').send({ provider: 'direct', payment_code: newBundleCode('ABC'), amount_vnd: 1000 });
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'INVOICE_NOT_FOUND']);
  });

  test('a combined transfer whose notification was lost is recorded from the bank statement, as planned, once', async () => {
    const [elder, younger] = children;
    // The school year's invoices (health insurance), the months being settled by now.
    await issueMonth(school, 'year');
    const [elderYear, youngerYear] = await Promise.all([elder, younger].map((c) => app.db('invoices').where({ school_id: school.id, person_id: c!.id, period_kind: 'year' }).first()));
    const yearly = await bundle(family.father.personalId, [elderYear.id, youngerYear.id]);
    const lost = await request(app.baseUrl).post('/sim/bank/transfers').send({ provider: 'sepay', payment_code: yearly.body.payment_code, amount_vnd: yearly.body.due_vnd, callback: false });
    expect(lost.body).toMatchObject({ delivered_to: null });
    const run = await request(app.baseUrl).post(`/v1/schools/${school.id}/job-runs`).set(auth(school.accountant)).send({ job: 'reconciliation', date: '2026-11-22' });
    expect(run.body).toMatchObject({ status: 'succeeded', result: { failed: [] } });
    const recorded = await app.db('payments').where({ school_id: school.id, bank_reference: lost.body.bank_transaction_id });
    expect(recorded).toEqual([expect.objectContaining({ provider: 'statement', payment_code: yearly.body.payment_code, person_id: elder!.id })]);
    expect(await allocationsOf(recorded[0].id)).toEqual(Object.fromEntries(yearly.body.allocation_plan.map((p: { invoice_id: string; planned_vnd: number }) => [p.invoice_id, p.planned_vnd])));
    expect(await app.db('reconciliation_results').where({ school_id: school.id, payment_id: recorded[0].id }).select('outcome', 'rule')).toEqual([{ outcome: 'matched', rule: 'statement_payment' }]);
    // Pulled again: nothing more.
    const again = await request(app.baseUrl).post(`/v1/schools/${school.id}/job-runs`).set(auth(school.accountant)).send({ job: 'reconciliation', date: '2026-11-22' });
    expect(again.body.result.outcomes).toEqual(run.body.result.outcomes);
    expect(await app.db('payments').where({ school_id: school.id, bank_reference: lost.body.bank_transaction_id })).toHaveLength(1);
  });
});

describe('in one batch with other payments', () => {
  test('a combined payment and the same family\'s other payment in one group commit are allocated one after the other, against the same locked invoices', async () => {
    // The other demo family, at the other school, whose November invoices are still open.
    const kids = await app.db('people').whereIn('personal_id', neighbours.children).orderBy('date_of_birth').select('id');
    const [elderInv, youngerInv] = await Promise.all(kids.map((k) => app.db('invoices').where({ school_id: otherSchool.id, person_id: k.id, period_start: '2026-11-01' }).first()));
    const due = (i: { total_vnd: string; credited_vnd: string; paid_vnd: string }) => Number(i.total_vnd) - Number(i.credited_vnd) - Number(i.paid_vnd);
    const b = (await bundle(neighbours.father.personalId, [youngerInv.id, elderInv.id])).body;
    expect(b.allocation_plan.map((p: { invoice_id: string }) => p.invoice_id)).toEqual([elderInv.id, youngerInv.id]);
    const e = await app.db('bank_endpoints').where({ school_id: otherSchool.id, provider: 'direct' }).first();
    const account = await app.db('collection_accounts').where({ school_id: otherSchool.id, is_default: true }).first();
    const toNote = (externalId: string, description: string, amountVnd: number) => {
      const signed = SIGNERS.direct({ externalId, amountVnd, accountNumber: account.account_number, description, occurredAt: app.clock.now(), bankReference: `FT${externalId}` }, e.secret, app.clock.now());
      const headers: InboundRequest['headers'] = {};
      for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
      return { provider: 'direct' as const, endpointId: e.id as string, req: { headers, rawBody: Buffer.from(signed.body ?? ''), query: {} } };
    };
    // In order: the elder's own invoice code pays 1,000 first; then the bundle in full, whose plan
    // finds the elder's invoice 1,000 lower; the 1,000 it has left is the elder's credit.
    const replies = await receiveBankNotifications({ db: app.db, clock: app.clock, logger }, [
      toNote('BATCH-1', `HP ${elderInv.payment_code}`, 1000),
      toNote('BATCH-2', `HP ${b.payment_code}`, b.total_vnd),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    const [p1] = await paymentsOfEvent('BATCH-1');
    const [p2] = await paymentsOfEvent('BATCH-2');
    expect(await allocationsOf(p1.id)).toEqual({ [elderInv.id]: 1000 });
    expect(await allocationsOf(p2.id)).toEqual({ [elderInv.id]: due(elderInv) - 1000, [youngerInv.id]: due(youngerInv) });
    for (const inv of [elderInv, youngerInv]) expect((await app.db('invoices').where({ id: inv.id }).first()).status).toBe('paid');
    const journal = await app.db('journals').where({ kind: 'payment_received', reference_id: p2.id }).first();
    const credit = await app.db('ledger_entries').where({ journal_id: journal.id, account_kind: 'credit' }).select('account_key', 'amount_vnd');
    expect(credit.map((x) => [x.account_key, Number(x.amount_vnd)])).toEqual([[kids[0]!.id, -1000]]);
  });
});
