import request from 'supertest';
import { SIGNERS } from '../../src/integrations/banks';
import { createTaxAuthorityClient } from '../../src/integrations/tax-authority/tax-authority';
import { createLogger } from '../../src/logger';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { issuePendingReceipts } from '../../src/modules/receipts/receipt-issuing.service';
import { backoffMs, deliverTaxOutbox } from '../../src/modules/receipts/tax-outbox.service';
import { startTestApp, type TestApp } from '../support/test-app';
import { demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';

/**
 * Receipts reach the tax authority through the outbox: retried with backoff while the authority
 * fails or is slow, marked accepted or rejected, resent by staff after a rejection, and never sent
 * again once accepted, however many workers run.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
let seq = 0;
const logger = createLogger('silent');

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 3);
  const principal = await loadPrincipal(app.db, school.accountant);
  const ctx = { db: app.db, clock: app.clock, principal };
  const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month: '2026-11' });
  await executeInvoiceRun(app.db, app.clock, school.id, run.id);
  await issueRunInvoices(ctx, school.id, run.id);
}, 60_000);
afterAll(() => app.close());
afterEach(async () => {
  expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
});

const worker = (timeoutMs = 10_000) => ({ db: app.db, clock: app.clock, logger, taxAuthority: createTaxAuthorityClient(`${app.baseUrl}/sim/tax`), timeoutMs, batchSize: 25 });
const behave = async (b: object) => expect((await request(app.baseUrl).put('/sim/tax/behaviour').send(b)).status).toBe(200);
const auth = () => ({ authorization: `Bearer ${app.tokenFor(school.accountant)}` });

/** Pays n open invoices and issues their receipts; returns the receipts' ids. */
async function newReceipts(n: number): Promise<string[]> {
  const endpoint = await app.db('bank_endpoints').where({ school_id: school.id, provider: 'direct' }).first();
  const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
  const invoices = await app.db('invoices').where({ school_id: school.id, status: 'open' }).orderBy('id').limit(n);
  const before = new Set(await app.db('receipts').where({ school_id: school.id }).pluck('id'));
  await Promise.all(
    invoices.map((inv) => {
      seq++;
      const signed = SIGNERS.direct({ externalId: `TAX${Date.now()}${seq}`, amountVnd: Number(inv.total_vnd), accountNumber: account.account_number, description: `HP ${inv.payment_code}`, occurredAt: app.clock.now(), bankReference: `FT${seq}`, payerName: 'PHAM VAN DUNG' }, endpoint.secret, app.clock.now());
      return request(app.baseUrl).post(`/callbacks/direct/${endpoint.id}`).set(signed.headers).send(signed.body ?? '');
    }),
  );
  await issuePendingReceipts({ db: app.db, clock: app.clock, logger });
  return (await app.db('receipts').where({ school_id: school.id }).pluck('id')).filter((id: string) => !before.has(id));
}

async function submissions(): Promise<Map<string, { accepted: number; duplicate: number; failed: number; timeout: number; rejected: number }>> {
  const res = await request(app.baseUrl).get('/sim/tax/submissions');
  return new Map(res.body.data.map((d: { key: string }) => [d.key, d]));
}

const keyOf = async (receiptId: string, kind = 400) => {
  const r = await app.db('receipts').where({ school_id: school.id, id: receiptId }).first();
  return `${r.content.school.tax_code}|${r.template_code}|${r.symbol}|${r.number}|${kind}`;
};

/** Runs the worker until nothing of this receipt is pending (other tests' items may share a batch). */
async function deliverUntilSettled(receiptId: string): Promise<void> {
  for (let round = 0; round < 10; round++) {
    await deliverTaxOutbox(worker());
    if (!(await app.db('tax_outbox').where({ school_id: school.id, receipt_id: receiptId, status: 'pending' }).first())) return;
    app.clock.advanceMs(3_600_000);
  }
}

describe('delivering receipts to the tax authority', () => {
  test('two workers running at once send each receipt exactly once, and it is accepted', async () => {
    await behave({});
    const ids = await newReceipts(30);
    expect(ids).toHaveLength(30);
    for (let round = 0; round < 5; round++) await Promise.all([deliverTaxOutbox(worker()), deliverTaxOutbox(worker())]);
    const outbox = await app.db('tax_outbox').where({ school_id: school.id, action: 'issue' }).whereIn('receipt_id', ids);
    expect(outbox.every((o) => o.status === 'accepted' && o.attempts === 1)).toBe(true);
    const seen = await submissions();
    for (const id of ids) expect(seen.get(await keyOf(id))).toMatchObject({ accepted: 1, duplicate: 0, failed: 0 });
    expect(await app.db('tax_delivery_attempts').where({ school_id: school.id }).whereIn('outbox_id', outbox.map((o) => o.id)).count<{ c: string }[]>('* as c')).toEqual([{ c: '30' }]);
  }, 60_000);

  test('a failing attempt is retried after an exponential backoff, not before', async () => {
    const id = (await newReceipts(1))[0]!;
    await behave({ fail_rate: 1 });
    const start = app.clock.now().getTime();
    await deliverTaxOutbox(worker());
    let row = await app.db('tax_outbox').where({ school_id: school.id, receipt_id: id, action: 'issue' }).first();
    expect(row).toMatchObject({ status: 'pending', attempts: 1 });
    expect(row.next_attempt_at.getTime()).toBe(start + backoffMs(1));
    expect(await deliverTaxOutbox(worker())).toEqual({ accepted: 0, rejected: 0, retrying: 0 });
    app.clock.advanceMs(backoffMs(1));
    await deliverTaxOutbox(worker());
    row = await app.db('tax_outbox').where({ school_id: school.id, receipt_id: id, action: 'issue' }).first();
    expect(row.attempts).toBe(2);
    expect(row.next_attempt_at.getTime()).toBe(start + backoffMs(1) + backoffMs(2));
    expect(backoffMs(2)).toBe(2 * backoffMs(1));
    await behave({});
    app.clock.advanceMs(backoffMs(2));
    await deliverTaxOutbox(worker());
    expect(await app.db('tax_outbox').where({ school_id: school.id, receipt_id: id, action: 'issue' }).first()).toMatchObject({ status: 'accepted', attempts: 3 });
    expect(await app.db('tax_delivery_attempts').where({ school_id: school.id, outbox_id: row.id }).orderBy('attempt_no').pluck('outcome')).toEqual(['failed', 'failed', 'accepted']);
  });

  test('with the authority failing 30 % of submissions and timing out 5 %, every receipt ends accepted and none is accepted twice', async () => {
    const ids = await newReceipts(40);
    await behave({ fail_rate: 0.3, timeout_rate: 0.05, delay_ms: 2500 });
    for (let round = 0; round < 40; round++) {
      // A generous timeout: only the simulator's late answers time out, even on a loaded machine.
      await Promise.all([deliverTaxOutbox(worker(1500)), deliverTaxOutbox(worker(1500))]);
      const pending = await app.db('tax_outbox').where({ school_id: school.id, status: 'pending' }).whereIn('receipt_id', ids).count<{ c: string }[]>('* as c');
      if (pending[0]!.c === '0') break;
      app.clock.advanceMs(3_600_000);
    }
    await behave({});
    const outbox = await app.db('tax_outbox').where({ school_id: school.id, action: 'issue' }).whereIn('receipt_id', ids);
    expect(outbox.map((o) => o.status)).toEqual(ids.map(() => 'accepted'));
    const seen = await submissions();
    let failures = 0;
    for (const id of ids) {
      const s = seen.get(await keyOf(id))!;
      expect(s.accepted).toBe(1);
      failures += s.failed + s.timeout;
    }
    expect(failures).toBeGreaterThan(0);
    const attempts = await app.db('tax_delivery_attempts').where({ school_id: school.id }).whereIn('outbox_id', outbox.map((o) => o.id)).count<{ c: string }[]>('* as c');
    expect(Number(attempts[0]!.c)).toBe(outbox.reduce((s, o) => s + o.attempts, 0));
  }, 60_000);

  test('a rejected receipt is listed by tax status, resent by staff after correction, then accepted; its cancellation follows it', async () => {
    const id = (await newReceipts(1))[0]!;
    const receipt = await app.db('receipts').where({ school_id: school.id, id }).first();
    await behave({ reject: [{ symbol: receipt.symbol, number: receipt.number, code: 'ERR_MST', reason: 'Mã số thuế người bán không hợp lệ' }] });
    await deliverUntilSettled(id);
    const listed = await request(app.baseUrl).get(`/v1/schools/${school.id}/receipts?tax_status=rejected`).set(auth());
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((r: { id: string }) => r.id)).toContain(id);
    expect(listed.body.data.find((r: { id: string }) => r.id === id).tax).toMatchObject({ status: 'rejected', rejection_code: 'ERR_MST' });

    await behave({});
    const resent = await request(app.baseUrl).post(`/v1/schools/${school.id}/receipts/${id}/tax-resend`).set(auth());
    expect(resent.status).toBe(200);
    expectContract(resent, 'post', '/v1/schools/{school_id}/receipts/{receipt_id}/tax-resend');
    expect(resent.body.tax.status).toBe('pending');
    const again = await request(app.baseUrl).post(`/v1/schools/${school.id}/receipts/${id}/tax-resend`).set(auth());
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('TAX_NOT_REJECTED');
    await deliverUntilSettled(id);
    expect(await app.db('tax_outbox').where({ school_id: school.id, receipt_id: id, action: 'issue' }).first()).toMatchObject({ status: 'accepted' });

    const cancelled = await request(app.baseUrl).post(`/v1/schools/${school.id}/receipts/${id}/cancel`).set(auth()).send({ reason: 'Thu nhầm khoản' });
    expect(cancelled.status).toBe(200);
    await deliverUntilSettled(id);
    expect(await app.db('tax_outbox').where({ school_id: school.id, receipt_id: id, action: 'cancel' }).first()).toMatchObject({ status: 'accepted' });
    expect((await submissions()).get(await keyOf(id, 401))).toMatchObject({ accepted: 1 });
  });
});
