import request from 'supertest';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { startTestApp, type TestApp } from '../support/test-app';
import { demoSchool } from '../factories/demo';

/**
 * Invariant: invoice numbers of a school's series are 1..N with no gap and no duplicate, however
 * many issue requests race, and a failed issue gives its number back.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 0); // lower secondary: 432 students
  const principal = await loadPrincipal(app.db, school.accountant);
  for (const month of ['2026-09', '2026-10', '2026-11']) {
    const run = await startInvoiceRun({ db: app.db, clock: app.clock, principal }, school.id, { kind: 'month', month });
    await executeInvoiceRun(app.db, app.clock, school.id, run.id);
  }
}, 60_000);
afterAll(() => app.close());

async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

test('when 1,000 drafts are issued by parallel requests (each twice), then the numbers are exactly 1..1000', async () => {
  const drafts = await app.db('invoices').where({ school_id: school.id, status: 'draft' }).orderBy('id').limit(1000).pluck('id');
  expect(drafts).toHaveLength(1000);
  const token = app.tokenFor(school.accountant);
  const statuses: number[] = [];
  // Every invoice is asked for twice, so duplicates race each other as well as the counter.
  const requests = [...drafts, ...drafts].sort(() => Math.random() - 0.5);
  await inParallel(requests, 40, async (id) => {
    const res = await request(app.baseUrl).post(`/v1/invoices/${id}/issue`).set('authorization', `Bearer ${token}`);
    statuses.push(res.status);
  });
  expect(statuses.filter((s) => s === 200)).toHaveLength(1000);
  expect(statuses.filter((s) => s !== 200).every((s) => s === 409)).toBe(true);

  const numbers = await app.db('invoices').where({ school_id: school.id, series: 'HD-2026' }).orderBy('number').pluck('number');
  expect(numbers).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  const counter = await app.db('invoice_number_counters').where({ school_id: school.id, series: 'HD-2026' }).first();
  expect(counter.next_number).toBe(1001);
}, 120_000);

test('when an issuing transaction rolls back, then its number is not burnt', async () => {
  const [draft] = await app.db('invoices').where({ school_id: school.id, status: 'draft' }).limit(1).pluck('id');
  // Make the issue fail after the number is taken: a check constraint refuses the update.
  await app.db.raw(`ALTER TABLE invoices ADD CONSTRAINT test_refuse_issue CHECK (id <> '${draft}' OR status = 'draft') NOT VALID`);
  try {
    const res = await request(app.baseUrl).post(`/v1/invoices/${draft}/issue`).set('authorization', `Bearer ${app.tokenFor(school.accountant)}`);
    expect(res.status).toBe(500);
  } finally {
    await app.db.raw('ALTER TABLE invoices DROP CONSTRAINT test_refuse_issue');
  }
  const ok = await request(app.baseUrl).post(`/v1/invoices/${draft}/issue`).set('authorization', `Bearer ${app.tokenFor(school.accountant)}`);
  expect(ok.status).toBe(200);
  expect(ok.body.number).toBe('HD-2026/001001');
});
