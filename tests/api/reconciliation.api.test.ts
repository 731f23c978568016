import request from 'supertest';
import type { InboundRequest, Provider, SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { SIGNERS } from '../../src/integrations/banks';
import { createLogger } from '../../src/logger';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { type Notification, receiveBankNotifications } from '../../src/modules/payments/bank-events.service';
import { reconcileDay } from '../../src/modules/reconciliation/reconciliation.service';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';
import { billPeriod, countRows, demoSchool } from '../factories/demo';
import { expectRollupsMatchHistory } from '../support/report-rollups';

/**
 * Reconciliation from the accountant's side: the bank's statement (pulled from the simulated bank's
 * API, or uploaded) is the truth; every planted discrepancy must be reported, nothing else, and a
 * second run must find the same and write nothing. After every scenario the ledger's invariants hold.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
let accountId: string;
let accountNumber: string;
const endpoints = new Map<string, { id: string; secret: string }>();
const logger = createLogger('silent');
const deps = () => ({ db: app.db, clock: app.clock, logger });
let seq = 0;
let staff: { authorization: string };

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 3);
  await billPeriod(app, school.id, school.accountant, { kind: 'month', month: '2026-11' });
  const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
  accountId = account.id;
  accountNumber = account.account_number;
  for (const e of await app.db('bank_endpoints').where({ school_id: school.id, collection_account_id: account.id }).select('id', 'secret', 'provider')) endpoints.set(e.provider, e);
  staff = { authorization: `Bearer ${app.tokenFor(school.accountant)}` };
}, 60_000);
afterAll(() => app.close());
afterEach(async () => {
  expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
  await expectRollupsMatchHistory(app.db, [school.id]);
});

function note(t: Partial<SimTransfer>, provider: Provider = 'direct'): Notification {
  seq++;
  const transfer: SimTransfer = { externalId: `RECON-${seq}`, amountVnd: 100_000, accountNumber, description: 'chuyen tien', occurredAt: app.clock.now(), ...t };
  const e = endpoints.get(provider)!;
  const signed = SIGNERS[provider](transfer, e.secret, app.clock.now());
  const headers: InboundRequest['headers'] = {};
  for (const [k, v] of Object.entries(signed.headers)) headers[k.toLowerCase()] = v;
  return { provider, endpointId: e.id, req: { headers, rawBody: Buffer.from(signed.body ?? ''), query: (signed.query ?? {}) as Record<string, string> } };
}

async function invoices(n: number, offset: number) {
  return app.db('invoices').where({ school_id: school.id }).whereNot({ status: 'draft' }).orderBy('id').offset(offset).limit(n).select<{ id: string; person_id: string; payment_code: string; total_vnd: string }[]>('id', 'person_id', 'payment_code', 'total_vnd');
}

const paymentsWithReference = async (ref: string) => app.db('payments').where({ school_id: school.id, bank_reference: ref }).select('id', 'provider', 'amount_vnd');

const reconcileByHand = (date: string) => request(app.baseUrl).post(`/v1/schools/${school.id}/job-runs`).set(staff).send({ job: 'reconciliation', date });

describe('the simulated bank, its statement API and the nightly reconciliation', () => {
  test('a transfer whose callback was lost becomes a payment from the statement; the late callback is then a duplicate, counted once', async () => {
    const [paidByCallback, lost] = await invoices(2, 0);
    const a = await request(app.baseUrl).post('/sim/bank/transfers').send({ provider: 'sepay', payment_code: paidByCallback!.payment_code, amount_vnd: 200_000 });
    expect(a.status).toBe(200);
    expectContract(a, 'post', '/sim/bank/transfers');
    const b = await request(app.baseUrl).post('/sim/bank/transfers').send({ provider: 'sepay', payment_code: lost!.payment_code, amount_vnd: 300_000, callback: false });
    expect(b.body).toMatchObject({ delivered_to: null, reply_status: null });
    const lostRef = b.body.bank_transaction_id as string;
    expect(await paymentsWithReference(lostRef)).toEqual([]);

    const run = await reconcileByHand('2026-11-22');
    expect(run.status).toBe(201);
    expect(run.body).toMatchObject({ status: 'succeeded', result: { failed: [] } });
    const recorded = await paymentsWithReference(lostRef);
    expect(recorded).toEqual([expect.objectContaining({ provider: 'statement', amount_vnd: '300000' })]);
    const results = await app.db('reconciliation_results').where({ school_id: school.id, statement_on: '2026-11-22' }).select('outcome', 'rule');
    expect(results).toEqual(expect.arrayContaining([{ outcome: 'matched', rule: 'bank_reference' }, { outcome: 'matched', rule: 'statement_payment' }]));
    expect(results.filter((r) => r.outcome !== 'matched')).toEqual([]);

    // The same day again: same outcomes, nothing written.
    const counts = async () => Promise.all(['payments', 'journals', 'ledger_entries', 'reconciliation_results', 'statement_lines', 'bank_events', 'allocations'].map((t) => countRows(app.db, t)));
    const before = await counts();
    const again = await reconcileDay(deps(), school.id, accountId, '2026-11-22');
    expect(again.new_results).toBe(0);
    const pulledAgain = await reconcileByHand('2026-11-22');
    expect(pulledAgain.body.result.outcomes).toEqual(run.body.result.outcomes);
    const after = await counts();
    // The second pull stores its import row (the request happened) but no line; nothing else moves.
    expect(after).toEqual(before);

    // The provider's callback arrives late, with the bank's reference: recognized, not counted again.
    const [reply] = await receiveBankNotifications(deps(), [note({ bankReference: lostRef, amountVnd: 300_000, description: `HP ${lost!.payment_code}` }, 'sepay')]);
    expect(reply!.status).toBe(200);
    expect(await paymentsWithReference(lostRef)).toHaveLength(1);
    expect(await app.db('bank_events').where({ school_id: school.id, provider: 'sepay' }).whereRaw(`transfer->>'bankReference' = ?`, [lostRef]).first('status')).toEqual({ status: 'duplicate' });
  });

  test('a callback and the reconciliation recording the same transfer at the same moment: one payment, whichever wins', async () => {
    for (let round = 0; round < 4; round++) {
      const [inv] = await invoices(1, 10 + round);
      const sim = await request(app.baseUrl).post('/sim/bank/transfers').send({ provider: 'sepay', payment_code: inv!.payment_code, amount_vnd: 150_000 + round, callback: false });
      const ref = sim.body.bank_transaction_id as string;
      const callback = receiveBankNotifications(deps(), [note({ bankReference: ref, amountVnd: 150_000 + round, description: `HP ${inv!.payment_code}` }, 'sepay')]);
      const reconcile = reconcileByHand('2026-11-22');
      const [[reply], run] = await Promise.all([callback, reconcile]);
      expect(reply!.status).toBe(200);
      expect(run.body.status).toBe('succeeded');
      expect(await paymentsWithReference(ref)).toHaveLength(1);
    }
    // Whatever the interleaving, a second reconciliation matches every line of the day.
    await reconcileDay(deps(), school.id, accountId, '2026-11-22');
    const open = await app.db('reconciliation_results').where({ school_id: school.id, statement_on: '2026-11-22', status: 'open' }).select('outcome');
    expect(open).toEqual([]);
  });
});

describe('accuracy: a statement with planted discrepancies of every kind', () => {
  test('every planted discrepancy is reported, nothing else, each tier records its rule, and a second run is identical', async () => {
    const day = '2026-11-21';
    app.clock.set(new Date('2026-11-21T03:00:00Z'));
    // A token issued at the earlier clock: one from the future (iat) is refused.
    staff = { authorization: `Bearer ${app.tokenFor(school.accountant)}` };
    const inv = await invoices(360, 0);
    const code = (i: number) => inv[i % inv.length]!.payment_code;
    let amount = 500_000;
    const next = () => (amount += 7);
    const rows: string[] = [];
    const line = (l: { id?: string; amount: number; description: string; va?: string }) => rows.push([day, 'in', l.amount, l.id ?? '', `"${l.description}"`, l.va ?? ''].join(','));
    const notes: Notification[] = [];
    const expected = { missing_in_service: 0, missing_at_bank: 0, amount_mismatch: 0, duplicate: 0 };
    const rules = { bank_reference: 0, payment_code: 0, virtual_account: 0, amount_window: 0, statement_payment: 0 };

    // 9,642 transfers reported by callback with the bank's reference: tier 1 (10,000 lines in all, as the issue asks).
    for (let i = 0; i < 9642; i++) {
      const a = next();
      notes.push(note({ bankReference: `ACC-T1-${i}`, amountVnd: a, description: `HP ${code(i)}` }, i % 2 ? 'sepay' : 'direct'));
      line({ id: `ACC-T1-${i}`, amount: a, description: `NGUYEN VAN A chuyen tien HP ${code(i)}` });
      rules.bank_reference++;
    }
    // 100 whose provider gave its own reference, not the bank's: tier 2, payment code and amount.
    for (let i = 0; i < 100; i++) {
      const a = next();
      notes.push(note({ bankReference: `CASSO-${i}`, amountVnd: a, description: `HP ${code(i + 7)}` }, 'casso'));
      line({ id: `ACC-T2-${i}`, amount: a, description: `chuyen khoan ${code(i + 7).toLowerCase()} hoc phi` });
      rules.payment_code++;
    }
    // One to a student's virtual account, no code anywhere: tier 3.
    const vaStudent = inv[40]!;
    await app.db('virtual_accounts').insert({ school_id: school.id, collection_account_id: accountId, number: '9624700055555', person_id: vaStudent.person_id, created_by: (await loadPrincipal(app.db, school.accountant)).personId, created_at: app.clock.now() });
    const vaAmount = next();
    notes.push(note({ bankReference: 'CASSO-VA', amountVnd: vaAmount, description: 'tien hoc', virtualAccount: '9624700055555' }, 'casso'));
    rows.push([day, 'in', vaAmount, 'ACC-VA', '"tien hoc"', '9624700055555'].join(','));
    rules.virtual_account++;
    // One the statement shows without a reference or code, the same amount as one callback that day: tier 4.
    const t4 = next();
    notes.push(note({ bankReference: 'ACC-T4', amountVnd: t4, description: 'chuyen tien' }, 'direct'));
    line({ amount: t4, description: 'IBFT chuyen tien' });
    rules.amount_window++;
    // 150 lost callbacks with a valid code: recorded from the statement.
    for (let i = 0; i < 150; i++) {
      line({ id: `ACC-LOST-${i}`, amount: next(), description: `HP ${code(i + 100)}` });
      rules.statement_payment++;
    }
    // 60 lines nobody can attribute (no code): missing in the service.
    for (let i = 0; i < 60; i++) {
      line({ id: `ACC-UNK-${i}`, amount: next(), description: `ung ho quy lop ${i}` });
      expected.missing_in_service++;
    }
    // 40 callbacks the bank does not show: missing at the bank.
    for (let i = 0; i < 40; i++) {
      notes.push(note({ bankReference: `GHOST-${i}`, amountVnd: next(), description: `HP ${code(i + 200)}` }, 'direct'));
      expected.missing_at_bank++;
    }
    // 20 where the bank shows another amount for the same reference.
    for (let i = 0; i < 20; i++) {
      const a = next();
      notes.push(note({ bankReference: `ACC-MM-${i}`, amountVnd: a, description: `HP ${code(i + 250)}` }, 'sepay'));
      line({ id: `ACC-MM-${i}`, amount: a + 1000, description: `HP ${code(i + 250)}` });
      expected.amount_mismatch++;
    }
    // 25 transfers reported by two providers with different references: one payment too many.
    for (let i = 0; i < 25; i++) {
      const a = next();
      notes.push(note({ bankReference: `ACC-DUP-${i}`, amountVnd: a, description: `HP ${code(i + 300)}` }, 'sepay'));
      notes.push(note({ bankReference: `CASSO-DUP-${i}`, amountVnd: a, description: `HP ${code(i + 300)}` }, 'casso'));
      line({ id: `ACC-DUP-${i}`, amount: a, description: `HP ${code(i + 300)}` });
      rules.bank_reference++;
      expected.duplicate++;
    }
    // Bank fees going out are lines but not payments.
    rows.push([day, 'out', 22_000, 'FEE-1', '"Phi SMS banking"', ''].join(','));
    expect(rows.length).toBe(10_000);

    for (let i = 0; i < notes.length; i += 200) {
      const replies = await receiveBankNotifications(deps(), notes.slice(i, i + 200));
      expect(replies.every((r) => r.status === 200)).toBe(true);
    }
    const csv = `booked_on,direction,amount_vnd,bank_transaction_id,description,virtual_account\n${rows.join('\n')}\n`;
    const upload = () => request(app.baseUrl).post(`/v1/schools/${school.id}/statements?collection_account_id=${accountId}&format=csv&file_name=sao-ke.csv`).set(staff).set('content-type', 'text/csv').send(csv);
    const imported = await upload();
    expect(imported.status).toBe(201);
    expectContract(imported, 'post', '/v1/schools/{school_id}/statements');
    expect(imported.body).toMatchObject({ line_count: rows.length, new_line_count: rows.length });
    expect((await upload()).body).toMatchObject({ line_count: rows.length, new_line_count: 0 });

    const first = await reconcileDay(deps(), school.id, accountId, day);
    const byRule = await app.db('reconciliation_results').where({ school_id: school.id, statement_on: day, outcome: 'matched' }).groupBy('rule').select('rule', app.db.raw('count(*)::int AS n'));
    expect(Object.fromEntries(byRule.map((r) => [r.rule, r.n]))).toEqual(rules);
    const { matched, ...exceptions } = first.outcomes;
    expect(Object.fromEntries(Object.entries(exceptions).map(([k, v]) => [k, v.count]))).toEqual(expected);
    expect(matched!.count).toBe(Object.values(rules).reduce((s, n) => s + n, 0));
    // The right lines: every unknown line, every ghost payment, every mismatch, every second report.
    const open = await app.db('reconciliation_results as r').leftJoin('statement_lines as l', (j) => j.on('l.school_id', '=', 'r.school_id').andOn('l.id', '=', 'r.line_id'))
      .leftJoin('payments as p', (j) => j.on('p.school_id', '=', 'r.school_id').andOn('p.id', '=', 'r.payment_id'))
      .where({ 'r.school_id': school.id, 'r.statement_on': day }).whereNot('r.outcome', 'matched').select('r.outcome', 'l.bank_transaction_id', 'p.bank_reference');
    expect(open.filter((o) => o.outcome === 'missing_in_service').every((o) => o.bank_transaction_id.startsWith('ACC-UNK-'))).toBe(true);
    expect(open.filter((o) => o.outcome === 'missing_at_bank').every((o) => o.bank_reference.startsWith('GHOST-'))).toBe(true);
    expect(open.filter((o) => o.outcome === 'amount_mismatch').every((o) => o.bank_transaction_id.startsWith('ACC-MM-'))).toBe(true);
    expect(open.filter((o) => o.outcome === 'duplicate').every((o) => o.bank_reference.startsWith('CASSO-DUP-'))).toBe(true);
    // Reconciled lines are fully matched; every statement payment is flagged as such.
    expect(await app.db('statement_lines').where({ school_id: school.id, booked_on: day, status: 'reconciled' }).whereRaw('matched_vnd <> amount_vnd').first()).toBeUndefined();
    const lineStates = await app.db('statement_lines').where({ school_id: school.id, booked_on: day }).groupBy('status').select('status', app.db.raw('count(*)::int AS n'));
    expect(Object.fromEntries(lineStates.map((r) => [r.status, r.n]))).toEqual({ reconciled: matched!.count, exception: expected.missing_in_service + expected.amount_mismatch, unreconciled: 1 });
    expect(await app.db('payments').where({ school_id: school.id, provider: 'statement' }).whereRaw(`bank_reference LIKE 'ACC-LOST-%'`).count<{ count: string }[]>('* as count')).toEqual([{ count: '150' }]);

    const second = await reconcileDay(deps(), school.id, accountId, day);
    expect(second.new_results).toBe(0);
    expect(second.outcomes).toEqual(first.outcomes);

    const report = await request(app.baseUrl).get(`/v1/schools/${school.id}/reconciliation-report?collection_account_id=${accountId}&date=${day}`).set(staff);
    expect(report.status).toBe(200);
    expectContract(report, 'get', '/v1/schools/{school_id}/reconciliation-report');
    expect(report.body).toMatchObject({ lines: rows.length, debits_vnd: 22_000, matched: { count: matched!.count }, exceptions: { missing_in_service: { count: 60 }, duplicate: { count: 25 } } });
    app.clock.set(new Date('2026-11-22T03:00:00Z'));
    // A token issued at the earlier clock: one from the future (iat) is refused.
    staff = { authorization: `Bearer ${app.tokenFor(school.accountant)}` };
  }, 120_000);
});

describe('the exception queue', () => {
  async function openException(kind: string) {
    const list = await request(app.baseUrl).get(`/v1/schools/${school.id}/reconciliation-exceptions?limit=100`).set(staff);
    expect(list.status).toBe(200);
    expectContract(list, 'get', '/v1/schools/{school_id}/reconciliation-exceptions');
    return list.body.data.find((e: { kind: string; status: string }) => e.kind === kind && e.status === 'open');
  }
  const resolve = (id: string, body: object) => request(app.baseUrl).post(`/v1/schools/${school.id}/reconciliation-exceptions/${id}/resolve`).set(staff).send(body);

  test('an accountant attaches unrecorded money to an invoice, in part then the rest; more than the line holds is refused; resolving twice is refused', async () => {
    const exc = await openException('missing_in_service');
    expect(exc).toMatchObject({ amount_vnd: expect.any(Number), age_days: expect.any(Number), description: expect.stringContaining('ung ho') });
    const [target] = await invoices(1, 50);
    const paymentsBefore = await countRows(app.db, 'payments');
    const tooMuch = await resolve(exc.id, { action: 'attach', invoice_id: target!.id, amount_vnd: exc.amount_vnd + 1 });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.error.code).toBe('AMOUNT_EXCEEDS_LINE');
    expect(await countRows(app.db, 'payments')).toBe(paymentsBefore);

    const part = await resolve(exc.id, { action: 'attach', invoice_id: target!.id, amount_vnd: 1000, note: 'phu huynh xac nhan' });
    expect(part.status).toBe(200);
    expectContract(part, 'post', '/v1/schools/{school_id}/reconciliation-exceptions/{exception_id}/resolve');
    expect(part.body).toMatchObject({ status: 'open' });
    const rest = await resolve(exc.id, { action: 'attach', student_id: target!.person_id });
    expect(rest.body).toMatchObject({ status: 'resolved', resolution: 'attached' });
    expect(await countRows(app.db, 'payments')).toBe(paymentsBefore + 2);
    const line = await app.db('statement_lines').where({ school_id: school.id, id: exc.line_id }).first();
    expect(line).toMatchObject({ status: 'reconciled' });
    expect(line.matched_vnd).toBe(line.amount_vnd);
    const twice = await resolve(exc.id, { action: 'dismiss', note: 'lan hai' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('EXCEPTION_ALREADY_RESOLVED');
    expect(await app.db('audit_events').where({ school_id: school.id, action: 'reconciliation_exception.resolved', subject_id: exc.id }).count<{ count: string }[]>('* as count')).toEqual([{ count: '2' }]);
  });

  test('refund puts the money in suspense for paying back; a bank error and a dismissal move nothing; a payment-side exception cannot be attached', async () => {
    const forRefund = await openException('missing_in_service');
    const suspenseBefore = await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'suspense' }).sum<{ sum: string }[]>('amount_vnd as sum');
    const refund = await resolve(forRefund.id, { action: 'refund', note: 'chuyen nham truong' });
    expect(refund.body).toMatchObject({ status: 'resolved', resolution: 'refund', resolution_payment_id: expect.stringMatching(/^pay_/) });
    const suspenseAfter = await app.db('ledger_entries').where({ school_id: school.id, account_kind: 'suspense' }).sum<{ sum: string }[]>('amount_vnd as sum');
    expect(Number(suspenseAfter[0]!.sum) - Number(suspenseBefore[0]!.sum)).toBe(-forRefund.amount_vnd);

    const ghost = await openException('missing_at_bank');
    const attach = await resolve(ghost.id, { action: 'attach', invoice_id: (await invoices(1, 0))[0]!.id });
    expect(attach.status).toBe(422);
    expect(attach.body.error.code).toBe('RESOLUTION_NOT_APPLICABLE');
    const journals = await countRows(app.db, 'journals');
    expect((await resolve(ghost.id, { action: 'bank_error', note: 'ngan hang ghi thieu' })).body).toMatchObject({ resolution: 'bank_error' });
    const dup = await openException('duplicate');
    expect((await resolve(dup.id, { action: 'dismiss', note: 'da kiem tra' })).body).toMatchObject({ resolution: 'dismissed' });
    expect(await countRows(app.db, 'journals')).toBe(journals);
    const noNote = await resolve((await openException('amount_mismatch')).id, { action: 'dismiss' });
    expect(noNote.status).toBe(400);
  });
});

describe('bad statements', () => {
  const upload = (format: string, body: string, account = accountId, type = 'text/csv') =>
    request(app.baseUrl).post(`/v1/schools/${school.id}/statements?collection_account_id=${account}&format=${format}`).set(staff).set('content-type', type).send(body);

  test('a malformed file, another account, another school\'s account and a future date are refused and store nothing', async () => {
    const imports = await countRows(app.db, 'statement_imports');
    const lines = await countRows(app.db, 'statement_lines');
    const malformed = await upload('csv', 'booked_on,direction,amount_vnd,description\n2026-11-21,in,12.5,x\n');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ code: 'STATEMENT_MALFORMED', param: 'line 2: amount_vnd' });
    const truncated = await upload('camt053', '<?xml version="1.0"?><Document><BkToCstmrStmt><Stmt><Acct>', accountId, 'application/xml');
    expect(truncated.status).toBe(400);
    expect(truncated.body.error.code).toBe('STATEMENT_MALFORMED');
    const camt = `<?xml version="1.0"?><Document><BkToCstmrStmt><Stmt><Acct><Id><Othr><Id>999999999</Id></Othr></Id></Acct><Ntry><Amt Ccy="VND">100</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-21</Dt></BookgDt></Ntry></Stmt></BkToCstmrStmt></Document>`;
    const wrongAccount = await upload('camt053', camt, accountId, 'application/xml');
    expect(wrongAccount.status).toBe(422);
    expect(wrongAccount.body.error.code).toBe('STATEMENT_ACCOUNT_MISMATCH');
    const other = await demoSchool(app.db, 0);
    const otherAccount = await app.db('collection_accounts').where({ school_id: other.id }).first('id');
    const foreign = await upload('csv', 'booked_on,direction,amount_vnd,description\n2026-11-21,in,100,x\n', otherAccount.id);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('COLLECTION_ACCOUNT_NOT_FOUND');
    const future = await upload('csv', 'booked_on,direction,amount_vnd,description\n2026-11-21,in,100,x\n2026-11-23,in,100,y\n');
    expect(future.status).toBe(422);
    expect(future.body.error).toMatchObject({ code: 'STATEMENT_DATE_IN_FUTURE', param: 'lines[1].booked_on' });
    expect(await countRows(app.db, 'statement_imports')).toBe(imports);
    expect(await countRows(app.db, 'statement_lines')).toBe(lines);
  });

  test('the database refuses a line matched beyond its amount or below zero, and a reconciled line with money left', async () => {
    const line = await app.db('statement_lines').where({ school_id: school.id }).first('id', 'amount_vnd');
    await expect(app.db('statement_lines').where({ school_id: school.id, id: line.id }).update({ matched_vnd: app.db.raw('amount_vnd + 1') })).rejects.toThrow(/statement_lines_matched_within_amount/);
    await expect(app.db('statement_lines').where({ school_id: school.id, id: line.id }).update({ matched_vnd: -1 })).rejects.toThrow(/statement_lines_matched_within_amount/);
    await expect(app.db('statement_lines').where({ school_id: school.id, id: line.id }).update({ matched_vnd: 0, status: 'reconciled' })).rejects.toThrow(/statement_lines_reconciled_fully/);
    await expect(app.db('statement_lines').where({ school_id: school.id, id: line.id }).update({ description: 'sua' })).rejects.toThrow(/verbatim/);
  });
});
