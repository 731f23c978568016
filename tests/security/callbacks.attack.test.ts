import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import type { Provider, SignedRequest, SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { SIGNATURE_TOLERANCE_MS } from '../../src/integrations/banks/bank-adapter';
import { SIGNERS } from '../../src/integrations/banks';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { demoSchool } from '../factories/demo';
import { fingerprint, fingerprintDiff } from '../support/db-fingerprint';
import { settleRequestedReceiptIssuing } from '../../src/modules/receipts/receipt-issuing.service';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Attacks on the bank-facing routes, each provider in its own wire format: a forged or altered
 * delivery is refused and writes nothing — not a bank event, a payment, an exception, a journal —
 * which the fingerprint of every table in the public schema proves (tests/support/db-fingerprint.ts).
 *
 * What each provider can prove decides which attacks apply (shared/reference/FORMATS.md):
 * - SePay authenticates the sender with an API key that covers neither the body nor a time, and
 *   VNPay's IPN hash covers the query but carries no time: for them a replay is deduplicated on
 *   the provider's transaction id (same answer, nothing written), and a stale or future timestamp
 *   is not a thing that exists; a changed body is not detectable for SePay (the key is not a MAC).
 * - Casso (HMAC-SHA512 over `t.body`), direct partners and bill payments (Standard Webhooks,
 *   HMAC-SHA256 over `id.t.body`) carry a signed timestamp: outside 5 minutes either way, refused.
 */
let app: TestApp;
type Target = Provider | 'billpay';
interface Endpoint {
  endpointId: string;
  secret: string;
}
const endpoints: Record<'a' | 'b', Map<Target, Endpoint>> = { a: new Map(), b: new Map() };
let accountA: string;
let paymentCodesA: string[];
let seq = 0;

beforeAll(async () => {
  app = await startTestApp();
  const a = await demoSchool(app.db, 3);
  const b = await demoSchool(app.db, 4);
  const principal = await loadPrincipal(app.db, a.accountant);
  const run = await startInvoiceRun({ db: app.db, clock: app.clock, principal }, a.id, { kind: 'month', month: '2026-11' });
  await executeInvoiceRun(app.db, app.clock, a.id, run.id);
  await issueRunInvoices({ db: app.db, clock: app.clock, principal }, a.id, run.id);
  paymentCodesA = await app.db('invoices').where({ school_id: a.id, status: 'open' }).orderBy('id').pluck<string[]>('payment_code');
  for (const [key, school] of [['a', a], ['b', b]] as const) {
    const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first<{ id: string; account_number: string }>();
    if (key === 'a') accountA = account!.account_number;
    for (const e of await app.db('bank_endpoints').where({ school_id: school.id, collection_account_id: account!.id })) endpoints[key].set(e.provider, { endpointId: e.id, secret: e.secret });
  }
  expect(endpoints.a.size).toBe(5);
  expect(endpoints.b.size).toBe(5);
}, 60_000);
afterAll(() => app.close());

/** Each delivery pays another open invoice, so none is refused for want of something to pay. */
function nextPaymentCode(): string {
  return paymentCodesA[seq % paymentCodesA.length]!;
}

function transfer(): SimTransfer {
  seq++;
  const code = nextPaymentCode();
  return { externalId: `ATK${seq}${Date.now()}`, amountVnd: 150000, accountNumber: accountA, description: `HP ${code} hoc phi`, paymentCode: code, occurredAt: app.clock.now(), bankReference: `FTATK${seq}`, payerName: 'NGUYEN VAN A' };
}

/** A correctly signed delivery for school A's endpoint of `target` (what the bank would send). */
function signed(target: Target, secret: string, now = app.clock.now()): SignedRequest & { path: string } {
  if (target === 'billpay') {
    seq++;
    const payload = JSON.stringify({ bank_transaction_id: `BP-ATK-${seq}`, customer_code: nextPaymentCode(), amount_vnd: 150000, paid_at: now.toISOString() });
    const id = `msg_atk_${seq}`;
    return {
      method: 'POST',
      path: `/billpay/${endpoints.a.get('billpay')!.endpointId}/payments`,
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, now, payload) },
      body: payload,
      query: {},
    };
  }
  return { ...SIGNERS[target](transfer(), secret, now), path: `/callbacks/${target}/${endpoints.a.get(target)!.endpointId}` };
}

/** Sends a delivery and waits for the receipt sweep its payment requested, so the next fingerprint sees a still database. */
async function send(r: SignedRequest & { path: string }, path = r.path): Promise<request.Response> {
  const res = r.method === 'GET' ? await request(app.baseUrl).get(path).query(r.query).set(r.headers) : await request(app.baseUrl).post(path).set(r.headers).send(r.body ?? '');
  await settleRequestedReceiptIssuing(app.db);
  return res;
}

/**
 * Sends the attack and checks that it was refused and that no table changed. A refusal is a 4xx,
 * except for VNPay, whose protocol answers every IPN with 200 and says no in `RspCode` (97: invalid
 * signature; 97 is also what an unknown endpoint gets, so a prober learns nothing).
 */
async function expectRefusedWithNothingWritten(attack: () => Promise<request.Response>): Promise<request.Response> {
  const before = await fingerprint(app.db);
  const res = await attack();
  if (res.status === 200) expect(res.body).toEqual({ RspCode: '97', Message: 'Invalid signature' });
  else expect([400, 401, 403, 404]).toContain(res.status);
  expect(fingerprintDiff(before, await fingerprint(app.db))).toEqual({});
  return res;
}

const ALL: Target[] = ['sepay', 'casso', 'vnpay', 'direct', 'billpay'];
const TIMESTAMPED: Target[] = ['casso', 'direct', 'billpay'];
const BODY_SIGNED: Target[] = ['casso', 'vnpay', 'direct', 'billpay'];

afterEach(async () => {
  expect(await findLedgerViolations(app.db)).toEqual([]);
});

describe('the genuine delivery (control)', () => {
  test.each(ALL)('%s: a correctly signed delivery is accepted and recorded', async (target) => {
    const before = await fingerprint(app.db, { only: ['bank_events'] });
    const res = await send(signed(target, endpoints.a.get(target)!.secret));
    expect(res.status).toBe(200);
    expect(fingerprintDiff(before, await fingerprint(app.db, { only: ['bank_events'] }))).not.toEqual({});
  });
});

describe('forged and altered deliveries', () => {
  test.each(BODY_SIGNED)('%s: one byte of the signed content changed -> refused, nothing written', async (target) => {
    const genuine = signed(target, endpoints.a.get(target)!.secret);
    if (genuine.method === 'GET') {
      // VNPay signs the query: change one digit of the amount.
      const amount = genuine.query.vnp_Amount!;
      const tampered = { ...genuine, query: { ...genuine.query, vnp_Amount: `${amount.slice(0, -3)}${(Number(amount.at(-3)) + 1) % 10}${amount.slice(-2)}` } };
      await expectRefusedWithNothingWritten(() => send(tampered));
      return;
    }
    const body = Buffer.from(genuine.body!);
    const at = body.indexOf(Buffer.from('150000'));
    body[at] = '2'.charCodeAt(0); // 150000 -> 250000: same length, valid JSON, more money
    await expectRefusedWithNothingWritten(() => request(app.baseUrl).post(genuine.path).set(genuine.headers).send(body.toString()));
  });

  test.each(ALL)('%s: signed with a wrong secret -> refused, nothing written', async (target) => {
    const wrong = target === 'direct' || target === 'billpay' ? `whsec_${Buffer.from('an-attacker-guessed-this-secret!').toString('base64')}` : 'an-attacker-guessed-this-secret';
    await expectRefusedWithNothingWritten(() => send(signed(target, wrong)));
  });

  test.each(ALL)('%s: signed with another school\'s secret for its own endpoint -> refused at ours, nothing written', async (target) => {
    await expectRefusedWithNothingWritten(() => send(signed(target, endpoints.b.get(target)!.secret)));
  });

  test.each(ALL)('%s: our correctly signed delivery sent to another school\'s endpoint -> refused, nothing written', async (target) => {
    const genuine = signed(target, endpoints.a.get(target)!.secret);
    const other = genuine.path.replace(endpoints.a.get(target)!.endpointId, endpoints.b.get(target)!.endpointId);
    await expectRefusedWithNothingWritten(() => send(genuine, other));
  });

  test.each(['sepay', 'casso', 'vnpay', 'direct'] as Provider[])('%s: a delivery to an endpoint opened for another provider -> refused, nothing written', async (target) => {
    const genuine = signed(target, endpoints.a.get(target)!.secret);
    const foreign = target === 'sepay' ? 'casso' : 'sepay';
    await expectRefusedWithNothingWritten(() => send(genuine, genuine.path.replace(endpoints.a.get(target)!.endpointId, endpoints.a.get(foreign)!.endpointId)));
  });

  test.each(ALL)('%s: no credentials at all -> refused, nothing written', async (target) => {
    const genuine = signed(target, endpoints.a.get(target)!.secret);
    const stripped = { ...genuine, headers: { 'content-type': 'application/json' }, query: Object.fromEntries(Object.entries(genuine.query).filter(([k]) => k !== 'vnp_SecureHash')) };
    await expectRefusedWithNothingWritten(() => send(stripped));
  });
});

describe('time and replay', () => {
  test.each(TIMESTAMPED)('%s: signed more than 5 minutes ago (stale) -> refused, nothing written', async (target) => {
    const stale = new Date(app.clock.now().getTime() - SIGNATURE_TOLERANCE_MS - 60_000);
    await expectRefusedWithNothingWritten(() => send(signed(target, endpoints.a.get(target)!.secret, stale)));
  });

  test.each(TIMESTAMPED)('%s: signed more than 5 minutes ahead (future) -> refused, nothing written', async (target) => {
    const future = new Date(app.clock.now().getTime() + SIGNATURE_TOLERANCE_MS + 60_000);
    await expectRefusedWithNothingWritten(() => send(signed(target, endpoints.a.get(target)!.secret, future)));
  });

  test.each(TIMESTAMPED)('%s: a valid delivery replayed after the window -> refused, nothing written', async (target) => {
    const genuine = signed(target, endpoints.a.get(target)!.secret);
    expect((await send(genuine)).status).toBe(200);
    app.clock.advanceMs(SIGNATURE_TOLERANCE_MS + 60_000);
    try {
      await expectRefusedWithNothingWritten(() => send(genuine));
    } finally {
      app.clock.advanceMs(-(SIGNATURE_TOLERANCE_MS + 60_000));
    }
  });

  test.each(ALL)('%s: a valid delivery replayed within the window -> the same answer, nothing written', async (target) => {
    const genuine = signed(target, endpoints.a.get(target)!.secret);
    const first = await send(genuine);
    expect(first.status).toBe(200);
    const before = await fingerprint(app.db, { except: ['idempotency_keys'] });
    const replay = await send(genuine);
    expect({ status: replay.status, body: replay.body }).toEqual({ status: first.status, body: first.body });
    expect(fingerprintDiff(before, await fingerprint(app.db, { except: ['idempotency_keys'] }))).toEqual({});
  });
});

describe('bill-payment inquiries and reversals', () => {
  const message = (action: 'inquiries' | 'reversals', secret: string, now = app.clock.now()) => {
    seq++;
    const payload = JSON.stringify(action === 'inquiries' ? { request_id: `INQ-ATK-${seq}`, customer_code: nextPaymentCode() } : { bank_transaction_id: `REV-ATK-${seq}`, original_transaction_id: `BP-ATK-${seq - 1}`, reason: 'khách hàng yêu cầu' });
    const id = `msg_atk_${action}_${seq}`;
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, now, payload) };
    return request(app.baseUrl).post(`/billpay/${endpoints.a.get('billpay')!.endpointId}/${action}`).set(headers).send(payload);
  };

  test.each(['inquiries', 'reversals'] as const)('%s: another school\'s secret, or a stale signature -> refused, nothing written, nothing disclosed', async (action) => {
    const forged = await expectRefusedWithNothingWritten(() => message(action, endpoints.b.get('billpay')!.secret));
    expect(JSON.stringify(forged.body)).not.toMatch(/full_name|invoices/);
    const stale = new Date(app.clock.now().getTime() - SIGNATURE_TOLERANCE_MS - 60_000);
    await expectRefusedWithNothingWritten(() => message(action, endpoints.a.get('billpay')!.secret, stale));
  });
});
