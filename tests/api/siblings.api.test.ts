import request from 'supertest';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { findLedgerViolations } from '../../src/modules/ledger/ledger.service';
import { demoGuardians } from '../../seeds/demo-data';
import { countRows, demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Sibling rules: students who share a verified guardian are siblings; a school's rule ("from the
 * second child, 50 % off semi-boarding service") becomes an explicit discount line with its reason
 * code when invoices are generated, for the younger child only, and only once the link is verified.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
const auth = (personalId: string) => ({ Authorization: `Bearer ${app.tokenFor(personalId)}` });

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 0);
}, 60_000);
afterAll(() => app.close());

async function generate(month: string) {
  const ctx = { db: app.db, clock: app.clock, principal: await loadPrincipal(app.db, school.accountant) };
  const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month });
  await executeInvoiceRun(app.db, app.clock, school.id, run.id);
  await issueRunInvoices(ctx, school.id, run.id);
}

const linesOf = (personalId: string, label: string) =>
  app.db('invoice_lines as l')
    .join('invoices as i', (j) => j.on('i.school_id', '=', 'l.school_id').andOn('i.id', '=', 'l.invoice_id'))
    .join('people as p', 'p.id', 'i.person_id')
    .where({ 'p.personal_id': personalId, 'i.period_label': label })
    .select<{ kind: string; fee_item_id: string; total_vnd: string; reason_code: string | null }[]>('l.kind', 'l.fee_item_id', 'l.total_vnd', 'l.reason_code');

describe('POST /v1/schools/{school_id}/sibling-rules', () => {
  test('from the second child, half the semi-boarding service: a discount line on the younger sibling\'s invoice only', async () => {
    const family = demoGuardians()[0]!;
    const [elder, younger] = family.children;
    const item = await app.db('fee_items').where({ school_id: school.id, code: 'PV_BAN_TRU' }).first<{ id: string }>('id');
    const rule = await request(app.baseUrl).post(`/v1/schools/${school.id}/sibling-rules`).set(auth(school.admin))
      .send({ fee_item_id: item.id, from_child: 2, percent: 50, reason_code: 'ANH_CHI_EM', valid_from: '2026-09-01' });
    expect(rule.status).toBe(201);
    expectContract(rule, 'post', '/v1/schools/{school_id}/sibling-rules');

    // Before any guardian is verified, nobody is a sibling.
    await generate('2026-10');
    expect((await linesOf(younger!, 'Tháng 10/2026')).filter((l) => l.kind === 'discount')).toEqual([]);

    for (const child of [elder!, younger!]) {
      const c = await app.db('people').where({ personal_id: child }).first();
      const res = await request(app.baseUrl).post('/v1/me/guardian-links').set(auth(family.mother.personalId)).send({ student_personal_id: child, student_date_of_birth: c.date_of_birth });
      expect(res.body.status).toBe('verified');
    }
    await generate('2026-11');
    const youngerLines = await linesOf(younger!, 'Tháng 11/2026');
    expect(youngerLines.filter((l) => l.kind === 'discount')).toEqual([{ kind: 'discount', fee_item_id: item.id, total_vnd: '-125000', reason_code: 'ANH_CHI_EM' }]);
    expect((await linesOf(elder!, 'Tháng 11/2026')).filter((l) => l.kind === 'discount')).toEqual([]);
    const discountLines = await app.db('invoice_lines as l').join('invoices as i', (j) => j.on('i.school_id', '=', 'l.school_id').andOn('i.id', '=', 'l.invoice_id'))
      .where({ 'l.school_id': school.id, 'l.kind': 'discount', 'i.period_label': 'Tháng 11/2026' }).count<{ count: string }[]>('* as count');
    expect(Number(discountLines[0]!.count)).toBe(1);
    expect(await findLedgerViolations(app.db, school.id)).toEqual([]);

    const list = await request(app.baseUrl).get(`/v1/schools/${school.id}/sibling-rules`).set(auth(school.accountant));
    expectContract(list, 'get', '/v1/schools/{school_id}/sibling-rules');
    expect(list.body.data).toHaveLength(1);
  });

  test('bad rules are refused and nothing is written', async () => {
    const item = await app.db('fee_items').where({ school_id: school.id, code: 'TIEN_AN' }).first<{ id: string }>('id');
    const body = { fee_item_id: item.id, from_child: 2, percent: 20, reason_code: 'ANH_CHI_EM', valid_from: '2026-09-01' };
    const before = await countRows(app.db, 'sibling_rules');
    const cases: [string, Record<string, unknown>, number, string][] = [
      [school.accountant, body, 403, 'ROLE_REQUIRED'],
      [school.admin, { ...body, from_child: 1 }, 400, 'VALIDATION_FAILED'],
      [school.admin, { ...body, percent: 120 }, 400, 'VALIDATION_FAILED'],
      [school.admin, { ...body, reason_code: 'anh chi em' }, 400, 'VALIDATION_FAILED'],
      [school.admin, { ...body, valid_to: '2026-08-01' }, 400, 'DATE_RANGE_INVALID'],
      [school.admin, { ...body, fee_item_id: 'fee_00000000000000000000000000000000' }, 422, 'FEE_ITEM_NOT_FOUND'],
    ];
    for (const [who, b, status, code] of cases) {
      const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/sibling-rules`).set(auth(who)).send(b);
      expect([res.status, res.body.error?.code]).toEqual([status, code]);
    }
    expect(await countRows(app.db, 'sibling_rules')).toBe(before);
  });
});
