import request from 'supertest';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { accountBalance, findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { toAscii } from '../../src/lib/vietnamese-text';
import { demoGuardians, type DemoFamily } from '../../seeds/demo-data';
import { countRows, demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';
import { expectRollupsMatchHistory } from '../support/report-rollups';

/**
 * Refunds of a student's credit with maker-checker, bound to national identity: the payee is a
 * verified guardian (or the student at 18) and the account holder's name is theirs; the money
 * leaves only on a second person's approval, and credit never goes negative, even under races.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
let family: DemoFamily;
let child: { id: string; personal_id: string; date_of_birth: string };
let invoice: { id: string; payment_code: string; total_vnd: string };

/** The name as a bank prints it: upper-case ASCII ("Vũ Hoàng Trí" -> "VU HOANG TRI"). */
const holderName = (fullName: string) => toAscii(fullName).toUpperCase();
const auth = (personalId: string) => ({ Authorization: `Bearer ${app.tokenFor(personalId)}` });
const credit = async () => 0 - (await accountBalance(app.db, school.id, 'credit', child.id));

/** Pays the child's invoice in cash with a surplus, which becomes credit. */
async function overpay(extraVnd: number) {
  const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments`).set(auth(school.accountant))
    .send({ payment_code: invoice.payment_code, amount_vnd: extraVnd + Math.max(0, Number(invoice.total_vnd) - Number((await app.db('invoices').where({ id: invoice.id }).first()).paid_vnd)), reason: 'Phụ huynh nộp tiền mặt tại trường' });
  expect(res.status).toBe(201);
}

function refundBody(over: Record<string, unknown> = {}) {
  return { student_id: child.id, payee_personal_id: family.father.personalId, bank_bin: '970436', account_number: '0071000999888', account_name: holderName(family.father.fullName), amount_vnd: 50000, reason: 'Hoàn tiền thừa học phí tháng 11', ...over };
}

const propose = (over: Record<string, unknown> = {}, by = school.accountant) => request(app.baseUrl).post(`/v1/schools/${school.id}/refunds`).set(auth(by)).send(refundBody(over));
const decide = (id: string, action: 'approve' | 'reject', by = school.admin) => request(app.baseUrl).post(`/v1/schools/${school.id}/refunds/${id}/${action}`).set(auth(by)).send({});

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 0);
  family = demoGuardians()[0]!;
  const ctx = { db: app.db, clock: app.clock, principal: await loadPrincipal(app.db, school.accountant) };
  const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month: '2026-11' });
  await executeInvoiceRun(app.db, app.clock, school.id, run.id);
  await issueRunInvoices(ctx, school.id, run.id);
  child = await app.db('people').where({ personal_id: family.children[0] }).first();
  invoice = await app.db('invoices').where({ school_id: school.id, person_id: child.id }).first();
  const link = await request(app.baseUrl).post('/v1/me/guardian-links').set(auth(family.father.personalId)).send({ student_personal_id: child.personal_id, student_date_of_birth: child.date_of_birth });
  expect(link.body.status).toBe('verified');
}, 60_000);
afterAll(() => app.close());
afterEach(async () => {
  expect(await findLedgerViolations(app.db, school.id)).toEqual([]);
  await expectRollupsMatchHistory(app.db, [school.id]);
});

describe('POST /v1/schools/{school_id}/refunds', () => {
  test('an accountant proposes, a school admin approves, and the credit leaves for the father\'s account', async () => {
    await overpay(200000);
    expect(await credit()).toBe(200000);
    const proposed = await propose({ amount_vnd: 150000 });
    expect(proposed.status).toBe(201);
    expectContract(proposed, 'post', '/v1/schools/{school_id}/refunds');
    expect(proposed.body).toMatchObject({ status: 'proposed', payee_relation: 'father', account_name: holderName(family.father.fullName), amount_vnd: 150000 });
    // Proposing moves nothing.
    expect(await credit()).toBe(200000);

    const approved = await decide(proposed.body.id, 'approve');
    expect(approved.status).toBe(200);
    expectContract(approved, 'post', '/v1/schools/{school_id}/refunds/{refund_id}/approve');
    expect(approved.body).toMatchObject({ status: 'approved', decided_by: expect.stringMatching(/^per_/) });
    expect(await credit()).toBe(50000);
    const journal = await app.db('journals').where({ school_id: school.id, kind: 'credit_refunded', reference_id: proposed.body.id }).first();
    expect(journal).toBeDefined();
    expect(await app.db('audit_events').where({ school_id: school.id, subject_id: proposed.body.id }).pluck('action')).toEqual(expect.arrayContaining(['refund.proposed', 'refund.approved']));

    const again = await decide(proposed.body.id, 'approve');
    expect([again.status, again.body.error.code]).toEqual([409, 'REFUND_ALREADY_DECIDED']);
    expect(await credit()).toBe(50000);
  });

  test('bad proposals are refused with stable codes and write nothing', async () => {
    const before = await countRows(app.db, 'refunds');
    const cases: [Record<string, unknown>, number, string][] = [
      [{ account_name: 'NGUYEN VAN B' }, 422, 'ACCOUNT_NAME_MISMATCH'],
      // The mother is in the registry but has no verified link: she is not a payee.
      [{ payee_personal_id: family.mother.personalId, account_name: holderName(family.mother.fullName) }, 422, 'PAYEE_NOT_VERIFIED'],
      [{ payee_personal_id: '079099000001' }, 422, 'PAYEE_NOT_VERIFIED'],
      [{ bank_bin: '999999' }, 422, 'BANK_UNKNOWN'],
      [{ amount_vnd: 50001 }, 409, 'INSUFFICIENT_CREDIT'],
      [{ amount_vnd: 0 }, 400, 'VALIDATION_FAILED'],
      [{ amount_vnd: 1.5 }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [over, status, code] of cases) {
      const res = await propose(over);
      expect([res.status, res.body.error?.code]).toEqual([status, code]);
    }
    expect(await countRows(app.db, 'refunds')).toBe(before);
  });

  test('four eyes: the proposer cannot decide, an accountant cannot approve, and a rejection moves nothing', async () => {
    const byAdmin = await propose({ amount_vnd: 10000 }, school.admin);
    expect(byAdmin.status).toBe(201);
    const self = await decide(byAdmin.body.id, 'approve', school.admin);
    expect([self.status, self.body.error.code]).toEqual([403, 'FOUR_EYES_REQUIRED']);
    const accountant = await decide(byAdmin.body.id, 'approve', school.accountant);
    expect([accountant.status, accountant.body.error.code]).toEqual([403, 'ROLE_REQUIRED']);
    const other = await demoSchool(app.db, 1);
    const elsewhere = await request(app.baseUrl).post(`/v1/schools/${school.id}/refunds/${byAdmin.body.id}/approve`).set(auth(other.admin)).send({});
    expect([elsewhere.status, elsewhere.body.error.code]).toEqual([404, 'SCHOOL_NOT_FOUND']);
    // An accountant's proposal is rejected by the admin.
    const second = await propose({ amount_vnd: 20000 });
    const rejected = await decide(second.body.id, 'reject');
    expect(rejected.body.status).toBe('rejected');
    expect(await credit()).toBe(50000);
    const cleanup = await request(app.baseUrl).post(`/v1/schools/${school.id}/refunds/${byAdmin.body.id}/reject`).set(auth(school.accountant)).send({});
    expect(cleanup.status).toBe(403);
    await app.db('staff_assignments').insert({ school_id: school.id, person_id: (await app.db('people').where({ personal_id: other.admin }).first()).id, role: 'school_admin' });
    expect((await decide(byAdmin.body.id, 'reject', other.admin)).body.status).toBe('rejected');
  });

  test('ten proposals racing for the same credit: only what the credit covers is proposed', async () => {
    expect(await credit()).toBe(50000);
    const results = await Promise.all(Array.from({ length: 10 }, () => propose({ amount_vnd: 15000 })));
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(3);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.error.code === 'INSUFFICIENT_CREDIT')).toBe(true);
    // Approving all of them, concurrently, keeps credit at or above zero.
    const approvals = await Promise.all(created.map((r) => decide(r.body.id, 'approve')));
    expect(approvals.every((a) => a.status === 200)).toBe(true);
    expect(await credit()).toBe(5000);
    const rejectAll = await app.db('refunds').where({ school_id: school.id, status: 'proposed' });
    expect(rejectAll).toHaveLength(0);
  });

  test('credit spent after the proposal, or a guardian no longer verified, stops the approval', async () => {
    await overpay(100000);
    const spent = await propose({ amount_vnd: 100000 });
    expect(spent.status).toBe(201);
    // The next month's invoice takes the credit when it is issued.
    const ctx = { db: app.db, clock: app.clock, principal: await loadPrincipal(app.db, school.accountant) };
    const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month: '2026-12' });
    await executeInvoiceRun(app.db, app.clock, school.id, run.id);
    await issueRunInvoices(ctx, school.id, run.id);
    expect(await credit()).toBe(0);
    const late = await decide(spent.body.id, 'approve');
    expect([late.status, late.body.error.code]).toEqual([409, 'INSUFFICIENT_CREDIT']);
    await decide(spent.body.id, 'reject');

    invoice = await app.db('invoices').where({ school_id: school.id, person_id: child.id, period_label: 'Tháng 12/2026' }).first();
    await overpay(30000);
    const proposal = await propose({ amount_vnd: 30000 });
    const links = await request(app.baseUrl).get('/v1/me/guardian-links').set(auth(family.father.personalId));
    const linkId = links.body.data.find((l: { student: { person_id: string } }) => l.student.person_id === child.id).id;
    await request(app.baseUrl).post(`/v1/me/guardian-links/${linkId}/revoke`).set(auth(family.father.personalId)).send({});
    const refused = await decide(proposal.body.id, 'approve');
    expect([refused.status, refused.body.error.code]).toEqual([409, 'PAYEE_NO_LONGER_VERIFIED']);
    expect(await credit()).toBe(30000);
    const list = await request(app.baseUrl).get(`/v1/schools/${school.id}/refunds?status=proposed`).set(auth(school.accountant));
    expectContract(list, 'get', '/v1/schools/{school_id}/refunds');
    expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([proposal.body.id]);
  });
});
