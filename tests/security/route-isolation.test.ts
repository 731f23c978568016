import request from 'supertest';
import { allRoutes } from '../../src/app';
import { SIGNERS } from '../../src/integrations/banks';
import { toOpenApiPath } from '../../src/http/routes';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { issuePendingReceipts } from '../../src/modules/receipts/receipt-issuing.service';
import { reconcileDay } from '../../src/modules/reconciliation/reconciliation.service';
import { createLogger } from '../../src/logger';
import { toAscii } from '../../src/lib/vietnamese-text';
import { demoGuardians } from '../../seeds/demo-data';
import { demoSchool, financeOfficer } from '../factories/demo';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Tenant isolation over every route (DESIGN 4): every route that takes an object id is called with
 * the ids of one family's and one school's objects by a guardian of another family, staff of
 * another school, a finance officer of another district, and no token. Every call must answer 404
 * (401 without a token), leak none of the victim's personal data, and write nothing. The table
 * below must name every such route: a new route fails this test until it is added.
 */
type Body = Record<string, unknown> | string;
interface Case {
  /** A body that is valid for the route, so that only scope can refuse it. */
  body?: (f: Fixtures) => Body;
  /** A query string the route requires. */
  query?: (f: Fixtures) => Record<string, string>;
}
/** Public routes with ids: the id is the credential (or the route belongs to a simulator). */
const PUBLIC: Record<string, string> = {
  'GET /pay/{token}': 'the unguessable token is the credential; tested in invoices.api.test.ts',
  'POST /callbacks/sepay/{endpoint_id}': 'authenticated by the endpoint secret; tested in payments and bank-adapter tests',
  'POST /callbacks/casso/{endpoint_id}': 'authenticated by the endpoint secret',
  'GET /callbacks/vnpay/{endpoint_id}': 'authenticated by the endpoint secret',
  'POST /callbacks/direct/{endpoint_id}': 'authenticated by the endpoint secret',
  'POST /billpay/{endpoint_id}/inquiries': 'authenticated by the endpoint secret',
  'POST /billpay/{endpoint_id}/payments': 'authenticated by the endpoint secret',
  'POST /billpay/{endpoint_id}/reversals': 'authenticated by the endpoint secret',
  'GET /sim/registry/v1/citizens/{personal_id}/relations': 'the simulated registry, an outside system (its own API key); development only',
  'GET /receipts/{lookup_code}': 'the public receipt lookup: the unguessable lookup code is the credential; tested in receipts.api.test.ts',
  'GET /receipts/{lookup_code}/pdf': 'the public receipt lookup (as above)',
  'GET /receipts/{lookup_code}/json': 'the public receipt lookup (as above)',
  'GET /receipt-signing-keys/{school_id}': 'a school\'s public signing key, published so anyone can verify a receipt',
};

interface Fixtures {
  school_id: string;
  class_id: string;
  personal_id: string;
  student_id: string;
  assignment_id: string;
  plan_id: string;
  version_id: string;
  month: string;
  exemption_id: string;
  run_id: string;
  invoice_id: string;
  payment_id: string;
  exception_id: string;
  refund_id: string;
  bundle_id: string;
  link_id: string;
  fee_item_id: string;
  account_id: string;
  payment_code: string;
  series_id: string;
  receipt_id: string;
  reconciliation_exception_id: string;
  district_code: string;
  city_code: string;
}

const CASES: Record<string, Case> = {
  'GET /v1/schools/{school_id}': {},
  'GET /v1/schools/{school_id}/collection-accounts': {},
  'POST /v1/schools/{school_id}/collection-accounts': { body: () => ({ bank_bin: '970436', account_number: '123456789', account_name: 'TRUONG KHAC' }) },
  'GET /v1/schools/{school_id}/classes': {},
  'POST /v1/schools/{school_id}/students': { body: (f) => ({ personal_id: '079215990001', full_name: 'Nguyễn Văn Mới', date_of_birth: '2015-04-12', gender: 'male', class_id: f.class_id }) },
  'POST /v1/schools/{school_id}/classes/{class_id}/roster-imports': { body: () => 'personal_id,full_name,date_of_birth,gender\n079215990002,Nguyễn Thị Mới,2015-04-12,female\n' },
  'GET /v1/schools/{school_id}/classes/{class_id}/students': {},
  'GET /v1/students/{personal_id}': {},
  'GET /v1/schools/{school_id}/staff-assignments': {},
  'POST /v1/schools/{school_id}/staff-assignments': { body: (f) => ({ personal_id: f.personal_id, role: 'accountant' }) },
  'DELETE /v1/schools/{school_id}/staff-assignments/{assignment_id}': {},
  'POST /v1/schools/{school_id}/fee-items': { body: () => ({ code: 'MOI', name: 'Khoản mới', unit: 'month', document_kind: 'receipt', exemptible: false, optional: false, revenue_code: 'MOI' }) },
  'GET /v1/schools/{school_id}/fee-items': {},
  'POST /v1/schools/{school_id}/fee-plans': { body: (f) => ({ academic_year: '2026-2027', grade: 6, name: 'Kế hoạch mới', effective_from: '2027-01-01', items: [{ fee_item_id: f.fee_item_id, amount_vnd: 1000 }] }) },
  'GET /v1/schools/{school_id}/fee-plans': {},
  'GET /v1/schools/{school_id}/fee-plans/{plan_id}': {},
  'POST /v1/schools/{school_id}/fee-plans/{plan_id}/versions': { body: (f) => ({ effective_from: '2027-01-01', items: [{ fee_item_id: f.fee_item_id, amount_vnd: 1000 }] }) },
  'PUT /v1/schools/{school_id}/fee-plans/{plan_id}/versions/{version_id}/items': { body: (f) => ({ items: [{ fee_item_id: f.fee_item_id, amount_vnd: 1000 }] }) },
  'PUT /v1/schools/{school_id}/calendar/{month}': { body: () => ({ school_days: ['2026-11-02'] }) },
  'GET /v1/schools/{school_id}/calendar/{month}': {},
  'POST /v1/schools/{school_id}/optional-enrollments': { body: (f) => ({ personal_id: f.personal_id, fee_item_id: f.fee_item_id, from_on: '2026-12-01' }) },
  'POST /v1/schools/{school_id}/exemptions': { body: (f) => ({ personal_id: f.personal_id, category: 'disability', percent: 100, valid_from: '2026-09-01', valid_to: '2027-05-31', evidence_ref: 'QĐ 1' }) },
  'GET /v1/schools/{school_id}/exemptions': {},
  'POST /v1/schools/{school_id}/exemptions/{exemption_id}/approve': { body: () => ({}) },
  'POST /v1/schools/{school_id}/exemptions/{exemption_id}/reject': { body: () => ({}) },
  'POST /v1/schools/{school_id}/discounts': { body: (f) => ({ personal_id: f.personal_id, fee_item_id: f.fee_item_id, percent: 10, reason_code: 'KHAC', valid_from: '2026-09-01', valid_to: '2027-05-31' }) },
  'GET /v1/schools/{school_id}/discounts': {},
  'POST /v1/schools/{school_id}/sibling-rules': { body: (f) => ({ fee_item_id: f.fee_item_id, from_child: 2, percent: 10, reason_code: 'ANH_CHI_EM', valid_from: '2026-09-01' }) },
  'GET /v1/schools/{school_id}/sibling-rules': {},
  'POST /v1/schools/{school_id}/invoice-runs': { body: () => ({ period: 'month', month: '2027-01' }) },
  'GET /v1/schools/{school_id}/invoice-runs/{run_id}': {},
  'POST /v1/schools/{school_id}/invoice-runs/{run_id}/issue': { body: () => ({}) },
  'GET /v1/schools/{school_id}/invoices': {},
  'GET /v1/invoices/{invoice_id}': {},
  'POST /v1/invoices/{invoice_id}/issue': { body: () => ({}) },
  'POST /v1/invoices/{invoice_id}/void': { body: () => ({ reason: 'nhầm lẫn' }) },
  'GET /v1/invoices/{invoice_id}/qr.svg': {},
  'GET /v1/invoices/{invoice_id}/qr.png': {},
  'GET /v1/schools/{school_id}/students/{student_id}/statement': {},
  'POST /v1/schools/{school_id}/bank-endpoints': { body: (f) => ({ provider: 'sepay', collection_account_id: f.account_id }) },
  'GET /v1/schools/{school_id}/payments': {},
  'POST /v1/schools/{school_id}/payments': { body: (f) => ({ payment_code: f.payment_code, amount_vnd: 1000, reason: 'tiền mặt' }) },
  'POST /v1/schools/{school_id}/payment-exceptions/{exception_id}/resolve': { body: () => ({ reason: 'đã xử lý' }) },
  'POST /v1/schools/{school_id}/payments/{payment_id}/corrections': { body: (f) => ({ payment_code: f.payment_code, reason: 'chuyển nhầm' }) },
  'POST /v1/schools/{school_id}/virtual-accounts': { body: (f) => ({ collection_account_id: f.account_id, personal_id: f.personal_id, number: '96247000999' }) },
  'GET /v1/schools/{school_id}/virtual-accounts': {},
  'POST /v1/invoices/{invoice_id}/credit-notes': { body: () => ({ amount_vnd: 1000, reason: 'giảm trừ' }) },
  'GET /v1/invoices/{invoice_id}/credit-notes': {},
  'GET /v1/schools/{school_id}/payment-exceptions': {},
  'POST /v1/schools/{school_id}/refunds': { body: (f) => ({ student_id: f.student_id, payee_personal_id: f.personal_id, bank_bin: '970436', account_number: '0071000999', account_name: 'NGUYEN VAN A', amount_vnd: 1000, reason: 'hoàn tiền' }) },
  'GET /v1/schools/{school_id}/refunds': {},
  'POST /v1/schools/{school_id}/refunds/{refund_id}/approve': { body: () => ({}) },
  'POST /v1/schools/{school_id}/refunds/{refund_id}/reject': { body: () => ({}) },
  'POST /v1/me/guardian-links/{link_id}/revoke': { body: () => ({}) },
  'GET /v1/me/students/{student_id}/statements': {},
  'GET /v1/me/payment-bundles/{bundle_id}': {},
  'GET /v1/schools/{school_id}/guardian-links': {},
  'POST /v1/schools/{school_id}/guardian-links/{link_id}/confirm': { body: () => ({ chip_read_id: 'chr_00000000000000000000000000000000', relation: 'father', document_note: 'giấy khai sinh' }) },
  'POST /v1/schools/{school_id}/guardian-links/{link_id}/reject': { body: () => ({ reason: 'không đủ giấy tờ' }) },
  'POST /v1/schools/{school_id}/guardian-links/{link_id}/revoke': { body: () => ({ reason: 'theo quyết định' }) },
  'POST /v1/schools/{school_id}/card-readers': { body: () => ({ name: 'Máy đọc', public_key: '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n' }) },
  'GET /v1/schools/{school_id}/card-readers': {},
  'POST /v1/schools/{school_id}/statements': {
    query: (f) => ({ collection_account_id: f.account_id, format: 'csv' }),
    body: () => 'booked_on,direction,amount_vnd,description,bank_transaction_id\n2026-11-20,in,100000,HP X,FT-ISO-2\n',
  },
  'GET /v1/schools/{school_id}/reconciliation-exceptions': {},
  'POST /v1/schools/{school_id}/reconciliation-exceptions/{exception_id}/resolve': { body: () => ({ action: 'dismiss', note: 'không liên quan' }) },
  'GET /v1/schools/{school_id}/reconciliation-report': { query: (f) => ({ collection_account_id: f.account_id, date: '2026-11-21' }) },
  'GET /v1/schools/{school_id}/job-runs': {},
  'POST /v1/schools/{school_id}/job-runs': { body: () => ({ job: 'reconciliation', date: '2026-11-21' }) },
  'POST /v1/schools/{school_id}/receipt-series': { body: () => ({ template_code: '01BLP0-001', symbol: 'BX-27E', title: 'Biên lai thu phí', valid_from: '2027-01-01' }) },
  'GET /v1/schools/{school_id}/receipt-series': {},
  'PATCH /v1/schools/{school_id}/receipt-series/{series_id}': { body: () => ({ title: 'Biên lai mới' }) },
  'GET /v1/schools/{school_id}/receipts': {},
  'GET /v1/schools/{school_id}/receipts/{receipt_id}': {},
  'POST /v1/schools/{school_id}/receipts/{receipt_id}/cancel': { body: () => ({ reason: 'lập sai' }) },
  'POST /v1/schools/{school_id}/receipts/{receipt_id}/replacements': { body: () => ({ reason: 'lập sai' }) },
  'POST /v1/schools/{school_id}/receipts/{receipt_id}/adjustments': { body: () => ({ amount_vnd: -1000, description: 'giảm', reason: 'điều chỉnh' }) },
  'POST /v1/schools/{school_id}/receipts/{receipt_id}/tax-resend': { body: () => ({}) },
  'GET /v1/schools/{school_id}/receipt-usage': { query: () => ({ from: '2026-11-01', to: '2026-11-30' }) },
  'POST /v1/schools/{school_id}/chip-reads': { body: () => ({ reader_id: 'rdr_00000000000000000000000000000000', payload: 'eyJ4IjoxfQ==', signature: 'AAAAAAAAAAAAAAAA' }) },
  'GET /v1/reports/schools/{school_id}/revenue': { query: () => ({ month: '2026-11' }) },
  'GET /v1/reports/districts/{district_code}/revenue': { query: () => ({ month: '2026-11' }) },
  'GET /v1/reports/cities/{city_code}/revenue': { query: () => ({ month: '2026-11' }) },
  'GET /v1/reports/schools/{school_id}/ageing': {},
  'GET /v1/reports/districts/{district_code}/ageing': {},
  'GET /v1/reports/cities/{city_code}/ageing': {},
  'GET /v1/reports/schools/{school_id}/defaulters': {},
  'POST /v1/schools/{school_id}/months/{month}/close': { body: () => ({ override_reason: 'đóng sổ' }) },
};

let app: TestApp;
let fixtures: Fixtures;
const victim = demoGuardians()[0]!;
const attackerFamily = demoGuardians()[1]!;
let victimNames: string[];

const auth = (personalId: string) => ({ Authorization: `Bearer ${app.tokenFor(personalId)}` });

async function tableCounts(): Promise<Record<string, number>> {
  const tables = await app.db('pg_tables').where({ schemaname: 'public' }).whereNot('tablename', 'like', 'knex_%').pluck('tablename');
  const counts: Record<string, number> = {};
  for (const t of tables) counts[t] = Number((await app.db(t).count<{ count: string }[]>('* as count'))[0]!.count);
  return counts;
}

beforeAll(async () => {
  app = await startTestApp();
  const school = await demoSchool(app.db, 0);
  const attackerSchool = await demoSchool(app.db, 1);
  const accountant = await loadPrincipal(app.db, school.accountant);
  const ctx = { db: app.db, clock: app.clock, principal: accountant };
  const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month: '2026-11' });
  await executeInvoiceRun(app.db, app.clock, school.id, run.id);
  await issueRunInvoices(ctx, school.id, run.id);
  const child = await app.db('people').where({ personal_id: victim.children[0] }).first();
  victimNames = [child.full_name, child.personal_id, victim.father.fullName, victim.father.personalId];
  const invoice = await app.db('invoices').where({ school_id: school.id, person_id: child.id }).first();
  const link = await request(app.baseUrl).post('/v1/me/guardian-links').set(auth(victim.father.personalId)).send({ student_personal_id: child.personal_id, student_date_of_birth: child.date_of_birth });
  const attackerChild = await app.db('people').where({ personal_id: attackerFamily.children[0] }).first();
  await request(app.baseUrl).post('/v1/me/guardian-links').set(auth(attackerFamily.father.personalId)).send({ student_personal_id: attackerChild.personal_id, student_date_of_birth: attackerChild.date_of_birth });
  // The victim's combined payment, made while the invoice is still open.
  const bundle = await request(app.baseUrl).post('/v1/me/payment-bundles').set(auth(victim.father.personalId)).send({ invoice_ids: [invoice.id] });
  expect(bundle.status).toBe(201);
  const pay = await request(app.baseUrl).post(`/v1/schools/${school.id}/payments`).set(auth(school.accountant)).send({ payment_code: invoice.payment_code, amount_vnd: Number(invoice.total_vnd) + 50000, reason: 'tiền mặt' });
  const refund = await request(app.baseUrl).post(`/v1/schools/${school.id}/refunds`).set(auth(school.accountant))
    .send({ student_id: child.id, payee_personal_id: victim.father.personalId, bank_bin: '970436', account_number: '0071000999', account_name: toAscii(victim.father.fullName).toUpperCase(), amount_vnd: 10000, reason: 'hoàn tiền thừa' });
  const exemption = await request(app.baseUrl).post(`/v1/schools/${school.id}/exemptions`).set(auth(school.accountant))
    .send({ personal_id: child.personal_id, category: 'disability', percent: 100, valid_from: '2026-09-01', valid_to: '2027-05-31', evidence_ref: 'QĐ 12' });
  const endpoint = await app.db('bank_endpoints').where({ school_id: school.id, provider: 'sepay' }).first();
  const account = await app.db('collection_accounts').where({ school_id: school.id, is_default: true }).first();
  const signed = SIGNERS.sepay({ externalId: 'ISO1', amountVnd: 70000, accountNumber: account.account_number, description: 'ung ho', occurredAt: app.clock.now(), bankReference: 'FTISO1', payerName: 'X' }, endpoint.secret, app.clock.now());
  await request(app.baseUrl).post(`/callbacks/sepay/${endpoint.id}`).set(signed.headers).send(signed.body ?? '');
  // A receipt for the cash payment, and a reconciliation exception: a statement line nobody recorded.
  await issuePendingReceipts({ db: app.db, clock: app.clock, logger: createLogger('silent') });
  const upload = await request(app.baseUrl).post(`/v1/schools/${school.id}/statements`).query({ collection_account_id: account.id, format: 'csv' }).set(auth(school.accountant))
    .set('Content-Type', 'text/csv').send('booked_on,direction,amount_vnd,description,bank_transaction_id\n2026-11-21,in,123000,chuyen tien khong ro,FT-ISO-1\n');
  expect(upload.status).toBe(201);
  await reconcileDay({ db: app.db, clock: app.clock, logger: createLogger('silent') }, school.id, account.id, '2026-11-21');
  const plan = await app.db('fee_plans').where({ school_id: school.id }).first();
  fixtures = {
    school_id: school.id,
    class_id: school.classes[0]!.id,
    personal_id: child.personal_id,
    student_id: child.id,
    assignment_id: (await app.db('staff_assignments').where({ school_id: school.id, role: 'accountant' }).first()).id,
    plan_id: plan.id,
    version_id: (await app.db('fee_plan_versions').where({ school_id: school.id, plan_id: plan.id }).first()).id,
    month: '2026-11',
    exemption_id: exemption.body.id,
    run_id: run.id,
    invoice_id: invoice.id,
    payment_id: pay.body.id,
    exception_id: (await app.db('payment_exceptions').where({ school_id: school.id }).first()).id,
    refund_id: refund.body.id,
    bundle_id: bundle.body.id,
    link_id: link.body.id,
    fee_item_id: (await app.db('fee_items').where({ school_id: school.id, code: 'TIEN_AN' }).first()).id,
    account_id: account.id,
    payment_code: invoice.payment_code,
    series_id: (await app.db('receipt_series').where({ school_id: school.id }).first()).id,
    receipt_id: (await app.db('receipts').where({ school_id: school.id }).first()).id,
    district_code: 'NB',
    city_code: 'HCM',
    reconciliation_exception_id: (await request(app.baseUrl).get(`/v1/schools/${school.id}/reconciliation-exceptions`).set(auth(school.accountant))).body.data[0].id,
  };
  for (const [name, value] of Object.entries(fixtures)) expect([name, value]).toEqual([name, expect.any(String)]);
  expect(attackerSchool.id).not.toBe(school.id);
  personas = {
    'a guardian of another family': attackerFamily.father.personalId,
    'staff of another school': attackerSchool.admin,
    'a finance officer of another district': financeOfficer('Q12'),
  };
}, 120_000);
afterAll(() => app.close());

let personas: Record<string, string>;

function routesWithIds() {
  return allRoutes({ db: app.db, clock: app.clock, logger: app.logs as never, tokens: app.tokens, identityProvider: {} as never, publicBaseUrl: app.baseUrl, vneidSimulator: {} as never, registrySimulatorApiKey: 'k' })
    .filter((r) => r.path.includes(':'))
    .map((r) => ({ route: r, key: `${r.method.toUpperCase()} ${toOpenApiPath(r.path)}` }));
}

describe('tenant isolation over every route', () => {
  test('the table names every route that takes an object id, and nothing else', () => {
    const keys = routesWithIds().map((r) => r.key);
    expect(keys.filter((k) => !(k in CASES) && !(k in PUBLIC))).toEqual([]);
    expect([...Object.keys(CASES), ...Object.keys(PUBLIC)].filter((k) => !keys.includes(k))).toEqual([]);
  });

  test('another family, another school, another district and no token get 404 (401), learn nothing and write nothing', async () => {
    const before = await tableCounts();
    const failures: string[] = [];
    for (const { route, key } of routesWithIds()) {
      const spec = CASES[key];
      if (!spec) continue;
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
        const fixtureName = name === 'exception_id' && route.path.includes('reconciliation-exceptions') ? 'reconciliation_exception_id' : name;
        const value = (fixtures as unknown as Record<string, string>)[fixtureName];
        if (!value) throw new Error(`no fixture for :${name} in ${key}`);
        return value;
      });
      const body = spec.body?.(fixtures);
      const query = spec.query?.(fixtures);
      for (const [who, personalId] of [...Object.entries(personas), ['no token', null] as const]) {
        let req = request(app.baseUrl)[route.method](path);
        if (query) req = req.query(query);
        if (personalId) req = req.set(auth(personalId));
        if (body !== undefined) req = typeof body === 'string' ? req.set('Content-Type', 'text/csv').send(body) : req.send(body);
        const res = await req;
        const expected = personalId ? 404 : 401;
        const text = JSON.stringify(res.body ?? '') + (res.text ?? '');
        if (res.status !== expected) failures.push(`${key} as ${who}: ${res.status} ${res.body?.error?.code ?? ''}`);
        else if (!res.body?.error?.code) failures.push(`${key} as ${who}: no error envelope`);
        for (const secret of victimNames) if (text.includes(secret)) failures.push(`${key} as ${who}: leaks ${secret}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await tableCounts()).toEqual(before);
  }, 120_000);
});
