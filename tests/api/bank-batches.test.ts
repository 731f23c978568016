import type { InboundRequest, SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { BANK_ADAPTERS, SIGNERS } from '../../src/integrations/banks';
import { createLogger } from '../../src/logger';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { type Notification, processPendingBankEvents, receiveBankNotifications } from '../../src/modules/payments/bank-events.service';
import { bankEventRetryJob } from '../../src/jobs/bank-event-retry.job';
import { createScheduler } from '../../src/jobs/scheduler';
import { BankInbox } from '../../src/modules/payments/bank-inbox';
import { lockStudentsAndOpenInvoices } from '../../src/modules/payments/payments.service';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/test-app';
import { expectContract } from '../support/contract';
import { countRows, demoSchool } from '../factories/demo';

/**
 * Notifications handled in batches (the BankInbox's group commit): what is true of one notification
 * must stay true when many arrive in one batch, including several for the same student, a replay
 * inside the batch, and an event whose processing fails.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
const endpoints = new Map<string, { id: string; secret: string }>();
let accountNumber: string;
let accountId: string;
let seq = 0;
const logger = createLogger('silent');

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 2);
  const principal = await loadPrincipal(app.db, school.accountant);
  const ctx = { db: app.db, clock: app.clock, principal };
  for (const month of ['2026-10', '2026-11']) {
    const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month });
    await executeInvoiceRun(app.db, app.clock, school.id, run.id);
    await issueRunInvoices(ctx, school.id, run.id);
  }
  const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
  accountNumber = account.account_number;
  accountId = account.id;
  for (const e of await app.db('bank_endpoints').where({ school_id: school.id, collection_account_id: account.id }).select('id', 'secret', 'provider')) endpoints.set(e.provider, e);
}, 60_000);
afterAll(() => app.close());
afterEach(async () => {
  expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
});

const deps = () => ({ db: app.db, clock: app.clock, logger });

function note(over: Partial<SimTransfer>, provider: 'direct' | 'sepay' | 'casso' | 'vnpay' = 'direct'): Notification {
  seq++;
  const t: SimTransfer = { externalId: `BATCH-${seq}`, amountVnd: 100_000, accountNumber, description: 'chuyen tien', occurredAt: app.clock.now(), ...over };
  const e = endpoints.get(provider)!;
  const signed = SIGNERS[provider](t, e.secret, app.clock.now());
  const headers: InboundRequest['headers'] = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  return { provider, endpointId: e.id, req: { headers, rawBody: Buffer.from(signed.body ?? ''), query: (signed.query ?? {}) as Record<string, string> } };
}

/** A student with two open invoices (October due before November). */
async function studentWithTwoInvoices(offset: number) {
  const rows = await app.db('invoices')
    .where({ school_id: school.id, status: 'open' })
    .whereIn('person_id', app.db('invoices').where({ school_id: school.id, status: 'open' }).groupBy('person_id').havingRaw('count(*) = 2').select('person_id'))
    .orderBy([{ column: 'person_id' }, { column: 'due_on' }])
    .select<{ id: string; person_id: string; payment_code: string; total_vnd: string; due_on: string }[]>('id', 'person_id', 'payment_code', 'total_vnd', 'due_on');
  const person = [...new Set(rows.map((r) => r.person_id))][offset]!;
  const [older, newer] = rows.filter((r) => r.person_id === person);
  expect(older!.due_on < newer!.due_on).toBe(true);
  return { person, older: older!, newer: newer! };
}

const invoice = (id: string) => app.db('invoices').where({ id }).first();
const credit = async (person: string) => Number((await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'credit', account_key: person }).sum('amount_vnd as s').first())?.s ?? 0);

test('three payments for one student in one batch are allocated one after the other: oldest invoice, then the next, then credit', async () => {
  const { person, older, newer } = await studentWithTwoInvoices(0);
  const code = older.payment_code;
  const replies = await receiveBankNotifications(deps(), [
    note({ amountVnd: Number(older.total_vnd), description: `HP ${code}` }),
    note({ amountVnd: Number(newer.total_vnd), description: `HP ${code}` }),
    note({ amountVnd: 50_000, description: `HP ${code}` }),
  ]);
  expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
  expect(await invoice(older.id)).toMatchObject({ status: 'paid', paid_vnd: older.total_vnd });
  expect(await invoice(newer.id)).toMatchObject({ status: 'paid', paid_vnd: newer.total_vnd });
  expect(await credit(person)).toBe(-50_000);
});

test('a replay inside the batch is answered like the first and records one payment; another amount under the same id is refused and raised', async () => {
  const { older } = await studentWithTwoInvoices(1);
  const first = note({ amountVnd: 10_000, description: `HP ${older.payment_code}` });
  const conflicting = note({ externalId: `BATCH-${seq}`, amountVnd: 20_000, description: `HP ${older.payment_code}` });
  const payments = await countRows(app.db, 'payments');
  const exceptions = await countRows(app.db, 'payment_exceptions');
  const replies = await receiveBankNotifications(deps(), [first, first, conflicting]);
  expect(replies[0]).toEqual({ status: 200, body: { received: true } });
  expect(replies[1]).toEqual(replies[0]);
  expect(replies[2]!.status).toBe(409);
  expect(await countRows(app.db, 'payments')).toBe(payments + 1);
  expect(await countRows(app.db, 'payment_exceptions')).toBe(exceptions + 1);
  expect(await invoice(older.id)).toMatchObject({ status: 'partially_paid', paid_vnd: '10000' });
});

test('a batch\'s text reaches the database verbatim, whatever it holds (the batch writes its values into its statements as literals)', async () => {
  const { person, older } = await studentWithTwoInvoices(12);
  const description = `HP ${older.payment_code} O'Brien \\ \\' ? $1 ?? "x"; DROP TABLE payments; -- Học phí 😀 \t E'x'`;
  const tricky = note({ amountVnd: 10_000, description, payerName: "L\u00ea Th\u1ecb 'Ả' \\" });
  const plain = note({ amountVnd: 5_000, description: `HP ${older.payment_code}` });
  // Stored and recorded by the batch's own transaction, not by the fallback (which would log an error).
  const watched = createLogger('silent');
  const errors = jest.spyOn(watched, 'error');
  const replies = await receiveBankNotifications({ ...deps(), logger: watched }, [tricky, plain, tricky]);
  expect(errors).not.toHaveBeenCalled();
  expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
  expect(replies[2]).toEqual(replies[0]);
  const stored = await app.db('bank_events').where({ school_id: school.id }).whereIn('external_id', [`BATCH-${seq - 1}`, `BATCH-${seq}`]).orderBy('external_id').select('external_id', 'raw_body', 'raw_headers', 'description', 'status');
  expect(stored).toEqual([
    { external_id: `BATCH-${seq - 1}`, raw_body: tricky.req.rawBody.toString('utf8'), raw_headers: tricky.req.headers, description, status: 'processed' },
    { external_id: `BATCH-${seq}`, raw_body: plain.req.rawBody.toString('utf8'), raw_headers: plain.req.headers, description: `HP ${older.payment_code}`, status: 'processed' },
  ]);
  expect(await app.db('payments').where({ school_id: school.id, person_id: person }).whereIn('amount_vnd', [10_000, 5_000]).count<{ count: string }[]>('* as count')).toEqual([{ count: '2' }]);
  expect(await invoice(older.id)).toMatchObject({ status: 'partially_paid', paid_vnd: '15000' });
});

test('an event whose processing fails is still stored and acknowledged, the others of its batch are paid, and the retry pays it once the fault is gone', async () => {
  const a = await studentWithTwoInvoices(2);
  const b = await studentWithTwoInvoices(3);
  // A fault injected in the real database: any payment of exactly 13,013 dong fails to insert.
  await app.db.raw(`CREATE FUNCTION test_refuse_13013() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.amount_vnd = 13013 THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER test_refuse_13013 BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION test_refuse_13013();`);
  try {
    const poison = note({ amountVnd: 13_013, description: `HP ${a.older.payment_code}` });
    const replies = await receiveBankNotifications(deps(), [poison, note({ amountVnd: 30_000, description: `HP ${b.older.payment_code}` })]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    expect(await invoice(b.older.id)).toMatchObject({ paid_vnd: '30000' });
    expect(await invoice(a.older.id)).toMatchObject({ paid_vnd: '0', status: 'open' });
    const stored = await app.db('bank_events').where({ school_id: school.id, amount_vnd: 13_013 }).first();
    expect(stored).toMatchObject({ status: 'received' });
  } finally {
    await app.db.raw('DROP TRIGGER test_refuse_13013 ON payments; DROP FUNCTION test_refuse_13013();');
  }
  expect(await processPendingBankEvents(deps())).toBe(1);
  expect(await invoice(a.older.id)).toMatchObject({ paid_vnd: '13013', status: 'partially_paid' });
  expect(await processPendingBankEvents(deps())).toBe(0);
});

test('one transfer reported by SePay and Casso (both watching the account) is one payment, in one batch or in two', async () => {
  const { older } = await studentWithTwoInvoices(5);
  const payments = await countRows(app.db, 'payments');
  const same = { amountVnd: 7_000, description: `HP ${older.payment_code}`, bankReference: `FT26326${seq}DUP` };
  const replies = await receiveBankNotifications(deps(), [note(same, 'sepay'), note(same, 'casso')]);
  expect(replies.map((r) => r.status)).toEqual([200, 200]);
  const later = await receiveBankNotifications(deps(), [note(same, 'direct')]);
  expect(later[0]!.status).toBe(200);
  expect(await countRows(app.db, 'payments')).toBe(payments + 1);
  expect(await invoice(older.id)).toMatchObject({ paid_vnd: '7000' });
  const statuses = await app.db('bank_events').where({ school_id: school.id, amount_vnd: 7_000 }).orderBy('provider').pluck('status');
  expect(statuses.sort()).toEqual(['duplicate', 'duplicate', 'processed']);
  // Another transfer with its own reference is its own payment.
  await receiveBankNotifications(deps(), [note({ ...same, bankReference: `FT26326${seq}OTHER` }, 'casso')]);
  expect(await invoice(older.id)).toMatchObject({ paid_vnd: '14000' });
});

test('a reference reported again with another amount is not dropped: its money waits in suspense with an exception; blank references are no references', async () => {
  const { older } = await studentWithTwoInvoices(9);
  const exceptions = await countRows(app.db, 'payment_exceptions');
  const ref = `FT26326${seq}MIS`;
  await receiveBankNotifications(deps(), [note({ amountVnd: 10_000, description: `HP ${older.payment_code}`, bankReference: ref }, 'sepay')]);
  const [reply] = await receiveBankNotifications(deps(), [note({ amountVnd: 500_000, description: `HP ${older.payment_code}`, bankReference: ref }, 'casso')]);
  expect(reply!.status).toBe(200);
  expect(await invoice(older.id)).toMatchObject({ paid_vnd: '10000' });
  const raised = await app.db('payment_exceptions').where({ school_id: school.id, kind: 'bank_reference_mismatch' }).orderBy('created_at', 'desc').first();
  expect(raised).toMatchObject({ amount_vnd: '500000', details: expect.objectContaining({ bank_reference: ref, recorded_amount_vnd: 10_000 }) });
  expect(await countRows(app.db, 'payment_exceptions')).toBe(exceptions + 1);

  // A partner that sends an empty bank_reference: its transaction id is the reference, never ''.
  const signed = note({ amountVnd: 1_000, description: 'x' });
  const body = { ...JSON.parse(signed.req.rawBody.toString()), bank_reference: '' };
  const parsed = BANK_ADAPTERS.direct.parse({ ...signed.req, rawBody: Buffer.from(JSON.stringify(body)) });
  expect(parsed.ok && parsed.transfer.bankReference).toBe(body.transaction_id);
  expect(body.transaction_id).not.toBe('');
});

test('SePay and Casso reporting the same transfers at the same moment, in separate batches, still make one payment each', async () => {
  const invoices = await app.db('invoices').where({ school_id: school.id }).whereIn('status', ['open', 'partially_paid']).orderBy('id', 'desc').limit(20).select<{ payment_code: string }[]>('payment_code');
  const payments = await countRows(app.db, 'payments');
  const transfers = invoices.map((inv, n) => ({ amountVnd: 3_000, description: `HP ${inv.payment_code}`, bankReference: `FT26326RACE${n}` }));
  const replies = await Promise.all(transfers.flatMap((t) => [receiveBankNotifications(deps(), [note(t, 'sepay')]), receiveBankNotifications(deps(), [note(t, 'casso')])]));
  expect(replies.flat().every((r) => r.status === 200)).toBe(true);
  expect(await countRows(app.db, 'payments')).toBe(payments + 20);
  expect(await app.db('bank_events').where({ school_id: school.id, amount_vnd: 3_000, status: 'duplicate' }).count('* as n').first()).toEqual({ n: '20' });
});

test('the inbox answers every request of a burst (more than a batch holds) with its own reply, and pays each once', async () => {
  const inbox = new BankInbox(deps(), { maxBatch: 7, concurrency: 2, minForAnother: 3 });
  const invoices = await app.db('invoices').where({ school_id: school.id, status: 'open' }).orderBy('id').limit(40).select<{ id: string; payment_code: string; paid_vnd: string }[]>('id', 'payment_code', 'paid_vnd');
  const notes = invoices.map((inv) => note({ amountVnd: 1_000, description: `HP ${inv.payment_code}` }));
  const replies = await Promise.all([...notes, notes[0]!].map((n) => inbox.submit(n)));
  expect(replies).toHaveLength(41);
  expect(replies.every((r) => r.status === 200)).toBe(true);
  const after = new Map((await app.db('invoices').whereIn('id', invoices.map((i) => i.id)).select<{ id: string; paid_vnd: string }[]>('id', 'paid_vnd')).map((r) => [r.id, Number(r.paid_vnd)]));
  // Each of these students has this open invoice as their oldest or only one, so each 1,000 lands on it.
  const grew = invoices.filter((i) => after.get(i.id) === Number(i.paid_vnd) + 1_000).length;
  expect(await app.db('payments').where({ school_id: school.id, amount_vnd: 1_000 }).count('* as n').first()).toEqual({ n: '40' });
  expect(grew).toBeGreaterThan(0);
});

test('the money lock is taken even for a student with no open invoice', async () => {
  const person = (await app.db('people').whereNotIn('id', app.db('invoices').select('person_id')).first('id')).id as string;
  await app.db.transaction(async (trx) => {
    const open = await lockStudentsAndOpenInvoices(trx, [{ schoolId: school.id, personId: person }]);
    expect(open.size).toBe(0);
    const other = await app.db.raw<{ rows: { got: boolean }[] }>('SELECT pg_try_advisory_lock(hashtext(?)) AS got', [`student-money:${school.id}:${person}`]);
    expect(other.rows[0]!.got).toBe(false);
  });
});

test('the scheduled retry job processes an event left unprocessed once it is older than its interval', async () => {
  const { older } = await studentWithTwoInvoices(4);
  await app.db.raw(`CREATE FUNCTION test_refuse_14014() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.amount_vnd = 14014 THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$;
    CREATE TRIGGER test_refuse_14014 BEFORE INSERT ON payments FOR EACH ROW EXECUTE FUNCTION test_refuse_14014();`);
  try {
    const [reply] = await receiveBankNotifications(deps(), [note({ amountVnd: 14_014, description: `HP ${older.payment_code}` })]);
    expect(reply!.status).toBe(200);
  } finally {
    await app.db.raw('DROP TRIGGER test_refuse_14014 ON payments; DROP FUNCTION test_refuse_14014();');
  }
  // The scheduler's retry job, fired directly (no waiting for cron time).
  const scheduler = createScheduler(deps(), [bankEventRetryJob(1_000)]);
  try {
    // Younger than the interval on the service's clock: left alone (the request that stored it may still be at work).
    const first = await scheduler.runFire('bank-event-retry', new Date(app.clock.now().getTime() + 1));
    expect(first).toMatchObject({ status: 'succeeded', result: { processed: 0 } });
    expect(await invoice(older.id)).toMatchObject({ paid_vnd: '0' });
    app.clock.advanceMs(1_001);
    const second = await scheduler.runFire('bank-event-retry', new Date(app.clock.now().getTime()));
    expect(second).toMatchObject({ status: 'succeeded', result: { processed: 1 } });
    expect(await invoice(older.id)).toMatchObject({ paid_vnd: '14014', status: 'partially_paid' });
  } finally {
    await scheduler.stop();
    app.clock.advanceMs(-1_001);
  }
});

test('a transfer to a student\'s virtual account is theirs without any code; the invoice\'s VietQR pays to it', async () => {
  const { person, older } = await studentWithTwoInvoices(6);
  const personalId = (await app.db('people').where({ id: person }).first('personal_id')).personal_id as string;
  const staff = { authorization: `Bearer ${app.tokenFor(school.accountant)}` };
  const assigned = await request(app.baseUrl).post(`/v1/schools/${school.id}/virtual-accounts`).set(staff).send({ collection_account_id: accountId, personal_id: personalId, number: '9624700012345' });
  expect(assigned.status).toBe(201);
  expectContract(assigned, 'post', '/v1/schools/{school_id}/virtual-accounts');
  expect(assigned.body).toMatchObject({ number: '9624700012345', student_id: person });
  const again = await request(app.baseUrl).post(`/v1/schools/${school.id}/virtual-accounts`).set(staff).send({ collection_account_id: accountId, personal_id: personalId, number: '9624700099999' });
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('STUDENT_HAS_VIRTUAL_ACCOUNT');
  const listed = await request(app.baseUrl).get(`/v1/schools/${school.id}/virtual-accounts`).set(staff);
  expectContract(listed, 'get', '/v1/schools/{school_id}/virtual-accounts');
  expect(listed.body.data.map((v: { number: string }) => v.number)).toContain('9624700012345');

  // No code anywhere in the description: the virtual account alone names the student.
  const [reply] = await receiveBankNotifications(deps(), [note({ amountVnd: 9_000, description: 'NGUYEN VAN A chuyen tien', virtualAccount: '9624700012345' }, 'sepay')]);
  expect(reply!.status).toBe(200);
  expect(await invoice(older.id)).toMatchObject({ paid_vnd: '9000', status: 'partially_paid' });
  // An unknown virtual account and no code: suspense, as before.
  const exceptions = await countRows(app.db, 'payment_exceptions');
  await receiveBankNotifications(deps(), [note({ amountVnd: 9_000, description: 'chuyen tien', virtualAccount: '9624700000000' }, 'sepay')]);
  expect(await countRows(app.db, 'payment_exceptions')).toBe(exceptions + 1);

  const shown = await request(app.baseUrl).get(`/v1/invoices/${older.id}`).set(staff);
  expect(shown.body.vietqr_payload).toContain('9624700012345');
});

test('a payment that lands while the student\'s next invoice is being issued pays it as soon as the issue commits, not at the issue after', async () => {
  const principal = await loadPrincipal(app.db, school.accountant);
  const ctx = { db: app.db, clock: app.clock, principal };
  const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month: '2026-12' });
  await executeInvoiceRun(app.db, app.clock, school.id, run.id);
  const december = await app.db('invoices').where({ school_id: school.id, run_id: run.id, status: 'draft' }).orderBy('id').first<{ id: string; person_id: string; total_vnd: string }>('id', 'person_id', 'total_vnd');
  const open = await app.db('invoices').where({ school_id: school.id, person_id: december.person_id }).whereIn('status', ['open', 'partially_paid']).select<{ payment_code: string; total_vnd: string; credited_vnd: string; paid_vnd: string }[]>('payment_code', 'total_vnd', 'credited_vnd', 'paid_vnd');
  const code = (await app.db('invoices').where({ school_id: school.id, person_id: december.person_id }).whereNot({ status: 'draft' }).first('payment_code')).payment_code as string;
  const owed = open.reduce((s, i) => s + Number(i.total_vnd) - Number(i.credited_vnd) - Number(i.paid_vnd), 0);

  // Hold the issue open after it has applied credit: it waits on the audit table, which this
  // transaction locks, while the payment (which writes no audit row) goes through.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const locker = app.db.transaction(async (trx) => {
    await trx.raw('LOCK TABLE audit_events IN EXCLUSIVE MODE');
    await held;
  });
  await new Promise((r) => setTimeout(r, 50));
  const issuing = issueRunInvoices(ctx, school.id, run.id);
  try {
    for (let i = 0; i < 100; i++) {
      const waiting = await app.db.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%audit_events%' AND state = 'active'`);
      if (waiting.rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const [reply] = await receiveBankNotifications(deps(), [note({ amountVnd: owed + Number(december.total_vnd), description: `HP ${code}` })]);
    expect(reply!.status).toBe(200);
    // The December invoice was still a draft to the payment: its part went to credit (a credit balance is negative).
    expect(await credit(december.person_id)).toBe(-Number(december.total_vnd));
  } finally {
    release();
    await locker;
    await issuing;
  }
  expect(await invoice(december.id)).toMatchObject({ status: 'paid', paid_vnd: december.total_vnd });
  expect(await credit(december.person_id)).toBe(0);
});

test('two VNPay IPNs (two transactions) for one order in one batch: the first confirms it, the second is told it is paid and its money waits in suspense', async () => {
  const { older } = await studentWithTwoInvoices(10);
  const due = Number(older.total_vnd);
  const exceptions = await countRows(app.db, 'payment_exceptions');
  const replies = await receiveBankNotifications(deps(), [
    note({ amountVnd: due, paymentCode: older.payment_code, description: 'thanh toan' }, 'vnpay'),
    note({ amountVnd: due, paymentCode: older.payment_code, description: 'thanh toan' }, 'vnpay'),
  ]);
  expect(replies.map((r) => (r.body as { RspCode: string }).RspCode)).toEqual(['00', '02']);
  expect(await invoice(older.id)).toMatchObject({ status: 'paid', paid_vnd: String(due) });
  expect(await countRows(app.db, 'payment_exceptions')).toBe(exceptions + 1);
});
