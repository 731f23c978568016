import request from 'supertest';
import { scheduledJobs } from '../../src/jobs';
import { createScheduler, type Scheduler } from '../../src/jobs/scheduler';
import { createZnsClient, DEV_ZNS_ACCESS_TOKEN } from '../../src/integrations/notifications/zalo-zns';
import { vietnamDate } from '../../src/lib/clock';
import { createLogger } from '../../src/logger';
import { deliverReminders } from '../../src/modules/reminders/reminders.service';
import { billPeriod, demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { fingerprint } from '../support/db-fingerprint';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Overdue reminders, queued by the daily job and sent through Zalo ZNS (the simulator, over HTTP):
 * one per invoice per stage, to verified guardians with a phone only, never for an invoice paid
 * (before queuing or before sending) or credited in full (exempted after issue), sent once however often the jobs run (even two at once),
 * transport failures retried, a refused phone given up.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
let scheduler: Scheduler;
const logger = createLogger('silent');
const auth = (personalId: string) => ({ authorization: `Bearer ${app.tokenFor(personalId)}` });
let personalSeq = 0;

interface Student { personId: string; fullName: string; invoiceId: string; paymentCode: string; owingVnd: number }
interface Guardian { personId: string; personalId: string; phone?: string }

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 3);
  await billPeriod(app, school.id, school.accountant, { kind: 'month', month: '2026-11' });
  const notifier = createZnsClient({ baseUrl: `${app.baseUrl}/sim/zalo`, accessToken: DEV_ZNS_ACCESS_TOKEN });
  scheduler = createScheduler({ db: app.db, clock: app.clock, logger }, scheduledJobs({ bankEventRetryMs: 60_000, statementApi: { baseUrl: `${app.baseUrl}/sim/bank`, keyId: 'x', secret: 'x'.repeat(16) }, reminderDelivery: { notifier, everyMs: 60_000 } }));
}, 60_000);
afterAll(async () => {
  await scheduler.stop();
  await app.close();
});

/** Students of the school with exactly one invoice, issued and unpaid. */
async function students(n: number): Promise<Student[]> {
  const rows = await app.db('invoices as i').join('people as p', 'p.id', 'i.person_id')
    .where({ 'i.school_id': school.id, 'i.status': 'open' })
    .whereRaw(`(SELECT count(*) FROM invoices j WHERE j.school_id = i.school_id AND j.person_id = i.person_id AND j.status IN ('open', 'partially_paid')) = 1`)
    .whereRaw('i.total_vnd > 0')
    .orderBy('p.personal_id').limit(n)
    .select<{ person_id: string; full_name: string; id: string; payment_code: string; total_vnd: string }[]>('i.person_id', 'p.full_name', 'i.id', 'i.payment_code', 'i.total_vnd');
  return rows.map((r) => ({ personId: r.person_id, fullName: r.full_name, invoiceId: r.id, paymentCode: r.payment_code, owingVnd: Number(r.total_vnd) }));
}

async function guardianOf(student: Student, status: 'verified' | 'pending' | 'revoked', phone?: string): Promise<Guardian> {
  const personalId = `0791809${String(++personalSeq).padStart(5, '0')}`;
  const [person] = await app.db('people').insert({ personal_id: personalId, full_name: `Phụ Huynh ${personalSeq}`, date_of_birth: '1980-05-05', gender: 'female' }).returning<{ id: string }[]>('id');
  const now = app.clock.now();
  await app.db('guardian_links').insert({ guardian_person_id: person!.id, student_person_id: student.personId, relation: 'mother', status, verified_by: status === 'pending' ? null : 'population_registry', requested_at: now, updated_at: now });
  if (phone) {
    const set = await request(app.baseUrl).put('/v1/me/contact').set(auth(personalId)).send({ phone });
    expect(set.status).toBe(200);
  }
  return { personId: person!.id, personalId, phone };
}

const pay = async (s: Student) => {
  const res = await request(app.baseUrl).post('/sim/bank/transfers').send({ provider: 'direct', payment_code: s.paymentCode, amount_vnd: s.owingVnd });
  expect(res.body).toMatchObject({ reply_status: 200 });
  expect(await app.db('invoices').where({ school_id: school.id, id: s.invoiceId }).first('status')).toEqual({ status: 'paid' });
};
const messagesOf = (s: Student) => app.db('reminder_messages').where({ school_id: school.id, invoice_id: s.invoiceId }).orderBy(['stage', 'guardian_person_id']);
const simulated = async () => (await request(app.baseUrl).get('/sim/zalo/messages')).body as { data: { tracking_id: string; phone: string; text: string }[]; log: { tracking_id: string; outcome: string }[] };
let fireSeq = 0;
const fire = (job: string) => scheduler.runFire(job, new Date(app.clock.now().getTime() + ++fireSeq));

describe('PUT and GET /v1/me/contact', () => {
  test('a person sets their phone in any usual writing, reads it back as 84...; a number that is not a Vietnamese mobile is 400 and changes nothing', async () => {
    const [s] = await students(1);
    const g = await guardianOf(s!, 'verified');
    expect((await request(app.baseUrl).get('/v1/me/contact').set(auth(g.personalId))).body).toEqual({ phone: null, updated_at: null });
    const set = await request(app.baseUrl).put('/v1/me/contact').set(auth(g.personalId)).send({ phone: '+84 912.345.678' });
    expect(set.status).toBe(200);
    expectContract(set, 'put', '/v1/me/contact');
    expect(set.body.phone).toBe('84912345678');
    const again = await request(app.baseUrl).put('/v1/me/contact').set(auth(g.personalId)).send({ phone: '0387654321' });
    expect(again.body.phone).toBe('84387654321');
    const before = await fingerprint(app.db);
    for (const phone of ['12345', '0212345678', '09123456789', '']) {
      const bad = await request(app.baseUrl).put('/v1/me/contact').set(auth(g.personalId)).send({ phone });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await request(app.baseUrl).put('/v1/me/contact').set(auth(g.personalId)).send({ phone: '0912345678', email: 'x@y.vn' })).body.error.code).toBe('UNKNOWN_FIELD');
    expect(await fingerprint(app.db)).toEqual(before);
    const read = await request(app.baseUrl).get('/v1/me/contact').set(auth(g.personalId));
    expectContract(read, 'get', '/v1/me/contact');
    expect(read.body.phone).toBe('84387654321');
    // Set for the next tests: this student's family is not part of them.
    await app.db('guardian_links').where({ guardian_person_id: g.personId }).update({ status: 'revoked' });
  });
});

describe('overdue reminders', () => {
  test('queued once per invoice and stage to verified guardians with a phone, sent once, retried after failures, never for a paid invoice', async () => {
    const [, a, b, c, paidBefore, paidAfter, refused, credited] = await students(8);
    const ga = await guardianOf(a!, 'verified', '0912000001');
    await guardianOf(a!, 'verified'); // no phone: nothing to send to
    await guardianOf(a!, 'pending', '0912000002'); // not verified: nothing
    const gb = await guardianOf(b!, 'verified', '0912000003');
    await guardianOf(c!, 'revoked', '0912000004'); // a revoked link: nothing, the reminder has no recipient
    await guardianOf(paidBefore!, 'verified', '0912000005');
    const gAfter = await guardianOf(paidAfter!, 'verified', '0912000006');
    const gRefused = await guardianOf(refused!, 'verified', '0912000007');
    await request(app.baseUrl).put('/sim/zalo/behaviour').send({ invalid_phones: ['84912000007'] });
    await pay(paidBefore!);
    // Exempted after it was issued: a credit note for all of it leaves nothing owed.
    await guardianOf(credited!, 'verified', '0912000008');
    const credit = await request(app.baseUrl).post(`/v1/invoices/${credited!.invoiceId}/credit-notes`).set(auth(school.accountant)).send({ amount_vnd: credited!.owingVnd, reason: 'Miễn toàn bộ theo quyết định của Phường' });
    expect(credit.status).toBe(201);

    // Five days after the due date: stage 1.
    const due = (await app.db('invoices').where({ school_id: school.id, id: a!.invoiceId }).first<{ due_on: string }>(app.db.raw("to_char(due_on, 'YYYY-MM-DD') AS due_on"))).due_on;
    app.clock.set(new Date(`${due}T01:00:00Z`));
    app.clock.advanceMs(5 * 86_400_000);
    const first = await fire('overdue-reminders');
    expect(first).toMatchObject({ status: 'succeeded', for_date: vietnamDate(app.clock.now()) });
    expect((first!.result as { messages: number }).messages).toBe(4); // a, b, paidAfter and refused, one guardian each
    const again = await fire('overdue-reminders');
    expect(again!.result).toMatchObject({ queued: 0, messages: 0 });
    expect((await messagesOf(a!)).map((m) => [m.guardian_person_id, m.phone, m.stage, m.status])).toEqual([[ga.personId, '84912000001', 1, 'pending']]);
    expect(await messagesOf(c!)).toEqual([]);
    expect(await app.db('overdue_reminders').where({ school_id: school.id, invoice_id: c!.invoiceId }).first('stage', 'status')).toEqual({ stage: 1, status: 'no_recipient' });
    expect(await app.db('overdue_reminders').where({ school_id: school.id, invoice_id: paidBefore!.invoiceId })).toEqual([]);
    expect(await app.db('overdue_reminders').where({ school_id: school.id, invoice_id: credited!.invoiceId })).toEqual([]);

    // Paid between queuing and sending: cancelled, not sent. The simulator fails the first two sends.
    await pay(paidAfter!);
    await request(app.baseUrl).put('/sim/zalo/behaviour').send({ fail_next: 2, invalid_phones: ['84912000007'] });
    const run1 = await fire('reminder-delivery');
    expect(run1!.result).toMatchObject({ retrying: 2, cancelled: 1 });
    expect((run1!.result as { sent: number; failed: number }).sent + (run1!.result as { failed: number }).failed).toBe(1);
    // Not due again yet: nothing happens.
    expect((await fire('reminder-delivery'))!.result).toEqual({ sent: 0, retrying: 0, failed: 0, cancelled: 0 });
    app.clock.advanceMs(61_000);
    const run2 = await fire('reminder-delivery');
    expect(run2!.result).toMatchObject({ retrying: 0, cancelled: 0 });
    expect((await fire('reminder-delivery'))!.result).toEqual({ sent: 0, retrying: 0, failed: 0, cancelled: 0 });

    const [ma] = await messagesOf(a!);
    const [mb] = await messagesOf(b!);
    expect([ma!.status, mb!.status]).toEqual(['sent', 'sent']);
    expect((await messagesOf(paidAfter!)).map((m) => [m.guardian_person_id, m.status])).toEqual([[gAfter.personId, 'cancelled']]);
    expect((await messagesOf(refused!)).map((m) => [m.guardian_person_id, m.status, m.last_error])).toEqual([[gRefused.personId, 'failed', 'ZNS_-108: Phone number is invalid']]);
    expect(await app.db('overdue_reminders').where({ school_id: school.id, invoice_id: paidAfter!.invoiceId }).first('status')).toEqual({ status: 'cancelled' });
    expect(await app.db('overdue_reminders').where({ school_id: school.id, invoice_id: a!.invoiceId }).first('status')).toEqual({ status: 'sent' });

    // The simulator delivered each sent message exactly once, with the Vietnamese text.
    const sim = await simulated();
    const delivered = sim.data.filter((d) => [ma!.tracking_id, mb!.tracking_id].includes(d.tracking_id));
    expect(delivered.map((d) => d.tracking_id).sort()).toEqual([ma!.tracking_id, mb!.tracking_id].sort());
    expect(sim.data.some((d) => ['84912000006', '84912000007', '84912000008'].includes(d.phone))).toBe(false);
    const toA = delivered.find((d) => d.tracking_id === ma!.tracking_id)!;
    expect(toA.phone).toBe(ga.phone!.replace(/^0/, '84'));
    expect(toA.text).toContain(`Kính gửi Quý phụ huynh em ${a!.fullName}`);
    expect(toA.text).toContain(`còn ${String(a!.owingVnd).replace(/\B(?=(\d{3})+(?!\d))/g, '.')} đồng chưa thanh toán, đã quá hạn 5 ngày`);
    expect(toA.text).toContain(a!.paymentCode);
    expect(gb.phone).toBe('0912000003');

    // A week late: stage 2, once, to the same guardians; two delivery runs at once send each message once.
    app.clock.advanceMs(86_400_000); // six days late: still stage 1, nothing new
    expect((await fire('overdue-reminders'))!.result).toMatchObject({ queued: 0, messages: 0 });
    app.clock.advanceMs(86_400_000); // seven
    const stage2 = await fire('overdue-reminders');
    expect(stage2!.result).toMatchObject({ messages: 3 }); // a, b and the refused phone; paidAfter owes nothing now
    const notifier = createZnsClient({ baseUrl: `${app.baseUrl}/sim/zalo`, accessToken: DEV_ZNS_ACCESS_TOKEN });
    const [x, y] = await Promise.all([0, 1].map(() => deliverReminders({ db: app.db, clock: app.clock, logger, notifier })));
    expect(x!.sent + y!.sent).toBe(2);
    expect(x!.failed + y!.failed).toBe(1);
    const stage2Ids = (await app.db('reminder_messages').where({ school_id: school.id, stage: 2, status: 'sent' }).pluck<string[]>('tracking_id')).sort();
    expect(stage2Ids).toHaveLength(2);
    expect((await simulated()).data.filter((d) => stage2Ids.includes(d.tracking_id)).map((d) => d.tracking_id).sort()).toEqual(stage2Ids);
    expect((await messagesOf(a!)).map((m) => [m.stage, m.status])).toEqual([[1, 'sent'], [2, 'sent']]);
  });
});
