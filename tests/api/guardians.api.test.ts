import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import request from 'supertest';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { buildDemoFamilies, demoGuardians, type DemoFamily, type DemoPerson } from '../../seeds/demo-data';
import { countRows, demoSchool } from '../factories/demo';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Guardians are linked to students only from national identity: the population registry (its
 * simulator, over HTTP, seeded with the demo families) or a chip-card read at the school's desk,
 * confirmed by staff. Links are revoked, rejected, and end on the student's 18th birthday.
 */
let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
let otherSchool: Awaited<ReturnType<typeof demoSchool>>;
let family: DemoFamily;
let families: DemoFamily[];
let reader: { id: string; key: KeyObject };

const auth = (personalId: string) => ({ Authorization: `Bearer ${app.tokenFor(personalId)}` });
const student = (personalId: string) => app.db('people').where({ personal_id: personalId }).first<{ id: string; personal_id: string; date_of_birth: string; full_name: string }>();

async function addPerson(p: Pick<DemoPerson, 'personalId' | 'fullName' | 'dateOfBirth' | 'gender'>): Promise<string> {
  const [row] = await app.db('people').insert({ personal_id: p.personalId, full_name: p.fullName, date_of_birth: p.dateOfBirth, gender: p.gender }).returning<{ id: string }[]>('id');
  return row!.id;
}

let serial = 0;
function newAdult(fullName: string, gender: 'male' | 'female' = 'female'): DemoPerson {
  serial++;
  return { personalId: `079${gender === 'male' ? '0' : '1'}60${String(880000 + serial).padStart(6, '0')}`, fullName, dateOfBirth: '1960-03-08', gender };
}

async function requestLink(guardianPersonalId: string, child: { personal_id: string; date_of_birth: string }) {
  return request(app.baseUrl).post('/v1/me/guardian-links').set(auth(guardianPersonalId)).send({ student_personal_id: child.personal_id, student_date_of_birth: child.date_of_birth });
}

function signedRead(fields: Record<string, unknown>, key: KeyObject = reader.key, readerId = reader.id) {
  const payload = Buffer.from(JSON.stringify({ reader_id: readerId, read_at: app.clock.now().toISOString(), nonce: randomBytes(8).toString('hex'), ...fields }));
  return { reader_id: readerId, payload: payload.toString('base64'), signature: sign(null, payload, key).toString('base64') };
}

beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 0);
  otherSchool = await demoSchool(app.db, 1);
  families = buildDemoFamilies();
  family = demoGuardians(families)[0]!;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/card-readers`).set(auth(school.admin)).send({ name: 'Quầy thu ngân 1', public_key: publicKey.export({ type: 'spki', format: 'pem' }) });
  expect(res.status).toBe(201);
  expectContract(res, 'post', '/v1/schools/{school_id}/card-readers');
  reader = { id: res.body.id, key: privateKey };
}, 60_000);
afterAll(() => app.close());

describe('POST /v1/me/guardian-links', () => {
  test('when the registry lists the person as the father, the link is verified at once and one login serves both children', async () => {
    const [elder, younger] = await Promise.all(family.children.map(student));
    const first = await requestLink(family.father.personalId, elder!);
    expect(first.status).toBe(201);
    expectContract(first, 'post', '/v1/me/guardian-links');
    expect(first.body).toMatchObject({ status: 'verified', relation: 'father', verified_by: 'population_registry', student: { personal_id: elder!.personal_id } });
    expect(first.body.history.map((h: { to_status: string }) => h.to_status)).toEqual(['pending', 'verified']);
    expect(first.body.history[1].evidence).toMatchObject({ source: 'population_registry', relation: 'father' });
    expect((await requestLink(family.father.personalId, younger!)).status).toBe(201);

    const me = await request(app.baseUrl).get('/v1/me').set(auth(family.father.personalId));
    expect(me.body.roles).toContain('guardian');
    const mine = await request(app.baseUrl).get('/v1/me/students').set(auth(family.father.personalId));
    expect(mine.status).toBe(200);
    expectContract(mine, 'get', '/v1/me/students');
    expect(mine.body.data.map((s: { personal_id: string }) => s.personal_id).sort()).toEqual([elder!.personal_id, younger!.personal_id].sort());
  });

  test('when the date of birth is wrong or the student unknown, the answer is the same 422 and nothing is written', async () => {
    const [elder] = await Promise.all(family.children.map(student));
    const links = await countRows(app.db, 'guardian_links');
    const wrong = await requestLink(family.mother.personalId, { personal_id: elder!.personal_id, date_of_birth: '2011-01-01' });
    const unknown = await requestLink(family.mother.personalId, { personal_id: '079315999999', date_of_birth: elder!.date_of_birth });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('STUDENT_NOT_MATCHED');
    }
    expect(await countRows(app.db, 'guardian_links')).toBe(links);
  });

  test('when the same link is asked for twice, the second is 409 GUARDIAN_LINK_EXISTS', async () => {
    const [elder] = await Promise.all(family.children.map(student));
    const again = await requestLink(family.father.personalId, elder!);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('GUARDIAN_LINK_EXISTS');
  });

  test('when the student is already 18, no guardian can be linked', async () => {
    const adultId = await addPerson({ personalId: '079207777001', fullName: 'Lê Thị Trưởng Thành', dateOfBirth: '2007-05-01', gender: 'female' });
    await app.db('enrollments').insert({ school_id: school.id, class_id: school.classes.at(-1)!.id, person_id: adultId, enrolled_on: '2026-09-05' });
    const links = await countRows(app.db, 'guardian_links');
    const res = await requestLink(family.mother.personalId, { personal_id: '079207777001', date_of_birth: '2007-05-01' });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('STUDENT_IS_ADULT');
    expect(await countRows(app.db, 'guardian_links')).toBe(links);
  });
});

describe('in-person confirmation with a chip-card read', () => {
  test('a link the registry does not support waits as pending; staff confirm it with a fresh read of the guardian\'s card', async () => {
    const grandmother = newAdult('Phạm Thị Hoa');
    await addPerson(grandmother);
    const [elder] = await Promise.all(family.children.map(student));
    const pending = await requestLink(grandmother.personalId, elder!);
    expect(pending.status).toBe(201);
    expect(pending.body).toMatchObject({ status: 'pending', relation: null, verified_by: null });
    // Until verified, the requester sees the student's personal ID masked.
    expect(pending.body.student.personal_id).toMatch(/\*/);
    expect((await request(app.baseUrl).get('/v1/me/students').set(auth(grandmother.personalId))).body.data).toEqual([]);

    const queue = await request(app.baseUrl).get(`/v1/schools/${school.id}/guardian-links?status=pending`).set(auth(school.accountant));
    expect(queue.status).toBe(200);
    expectContract(queue, 'get', '/v1/schools/{school_id}/guardian-links');
    expect(queue.body.data.map((l: { id: string }) => l.id)).toContain(pending.body.id);
    expect(await app.db('audit_events').where({ school_id: school.id, action: 'guardian_links.listed' })).toHaveLength(1);

    const read = await request(app.baseUrl).post(`/v1/schools/${school.id}/chip-reads`).set(auth(school.accountant))
      .send(signedRead({ personal_id: grandmother.personalId, full_name: grandmother.fullName, date_of_birth: grandmother.dateOfBirth }));
    expect(read.status).toBe(201);
    expectContract(read, 'post', '/v1/schools/{school_id}/chip-reads');

    const confirmed = await request(app.baseUrl).post(`/v1/schools/${school.id}/guardian-links/${pending.body.id}/confirm`).set(auth(school.accountant))
      .send({ chip_read_id: read.body.id, relation: 'legal_guardian', document_note: 'Quyết định công nhận giám hộ số 12/QĐ-UBND' });
    expect(confirmed.status).toBe(200);
    expectContract(confirmed, 'post', '/v1/schools/{school_id}/guardian-links/{link_id}/confirm');
    expect(confirmed.body).toMatchObject({ status: 'verified', relation: 'legal_guardian', verified_by: 'chip_card' });
    expect(confirmed.body.history.at(-1)).toMatchObject({ to_status: 'verified', actor_role: 'accountant', school_id: school.id, evidence: { source: 'chip_card', chip_read_id: read.body.id } });
    expect(await app.db('audit_events').where({ school_id: school.id, action: 'guardian_link.confirmed', subject_id: pending.body.id })).toHaveLength(1);

    const twice = await request(app.baseUrl).post(`/v1/schools/${school.id}/guardian-links/${pending.body.id}/confirm`).set(auth(school.accountant))
      .send({ chip_read_id: read.body.id, relation: 'legal_guardian', document_note: 'lần hai' });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('GUARDIAN_LINK_NOT_PENDING');

    // The read confirmed one link; it cannot confirm another.
    const [, younger] = await Promise.all(family.children.map(student));
    const second = await requestLink(grandmother.personalId, younger!);
    const reused = await request(app.baseUrl).post(`/v1/schools/${school.id}/guardian-links/${second.body.id}/confirm`).set(auth(school.accountant))
      .send({ chip_read_id: read.body.id, relation: 'legal_guardian', document_note: 'dùng lại' });
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('CHIP_READ_USED');
  });

  test('bad reads are refused with stable codes and nothing is written', async () => {
    const person = { personal_id: '079160880999', full_name: 'Ngô Thị Mai', date_of_birth: '1960-03-08' };
    const other = generateKeyPairSync('ed25519');
    const reg = await request(app.baseUrl).post(`/v1/schools/${otherSchool.id}/card-readers`).set(auth(otherSchool.admin)).send({ name: 'Máy đọc trường khác', public_key: other.publicKey.export({ type: 'spki', format: 'pem' }) });
    expect(reg.status).toBe(201);
    const valid = signedRead(person);
    const stale = signedRead({ ...person, read_at: new Date(app.clock.now().getTime() - 10 * 60_000).toISOString() });
    const forged = { ...valid, signature: sign(null, Buffer.from('something else'), reader.key).toString('base64') };
    const tampered = { ...valid, payload: Buffer.from(Buffer.from(valid.payload, 'base64').toString().replace('Mai', 'Lan')).toString('base64') };
    const cases: [Record<string, unknown>, number, string][] = [
      [forged, 422, 'CHIP_READ_SIGNATURE_INVALID'],
      [tampered, 422, 'CHIP_READ_SIGNATURE_INVALID'],
      [signedRead(person, other.privateKey, reg.body.id), 422, 'CARD_READER_UNKNOWN'],
      [signedRead(person, other.privateKey), 422, 'CHIP_READ_SIGNATURE_INVALID'],
      [stale, 422, 'CHIP_READ_STALE'],
      [{ ...valid, extra: 'chip image' }, 400, 'UNKNOWN_FIELD'],
    ];
    const reads = await countRows(app.db, 'chip_reads');
    for (const [body, status, code] of cases) {
      const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/chip-reads`).set(auth(school.accountant)).send(body);
      expect([res.status, res.body.error?.code]).toEqual([status, code]);
    }
    expect(await countRows(app.db, 'chip_reads')).toBe(reads);
    expect((await request(app.baseUrl).post(`/v1/schools/${school.id}/chip-reads`).set(auth(school.accountant)).send(valid)).status).toBe(201);
    const replay = await request(app.baseUrl).post(`/v1/schools/${school.id}/chip-reads`).set(auth(school.accountant)).send(valid);
    expect([replay.status, replay.body.error.code]).toEqual([409, 'CHIP_READ_REPLAYED']);
    expect(await countRows(app.db, 'chip_reads')).toBe(reads + 1);
  });

  test('a read of someone else\'s card cannot confirm a link', async () => {
    const aunt = newAdult('Trần Thị Dì');
    await addPerson(aunt);
    const [elder] = await Promise.all(family.children.map(student));
    const link = await requestLink(aunt.personalId, elder!);
    const read = await request(app.baseUrl).post(`/v1/schools/${school.id}/chip-reads`).set(auth(school.accountant))
      .send(signedRead({ personal_id: family.mother.personalId, full_name: family.mother.fullName, date_of_birth: family.mother.dateOfBirth }));
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/guardian-links/${link.body.id}/confirm`).set(auth(school.accountant))
      .send({ chip_read_id: read.body.id, relation: 'legal_guardian', document_note: 'giấy tờ' });
    expect([res.status, res.body.error.code]).toEqual([422, 'CHIP_READ_MISMATCH']);
    expect((await app.db('guardian_links').where({ id: link.body.id }).first()).status).toBe('pending');
  });
});

describe('rejection and revocation', () => {
  test('staff reject a pending link with a reason; staff of another school cannot see it', async () => {
    const stranger = newAdult('Đỗ Văn Lạ', 'male');
    await addPerson(stranger);
    const [elder] = await Promise.all(family.children.map(student));
    const link = await requestLink(stranger.personalId, elder!);
    const elsewhere = await request(app.baseUrl).post(`/v1/schools/${otherSchool.id}/guardian-links/${link.body.id}/reject`).set(auth(otherSchool.accountant)).send({ reason: 'không phải người nhà' });
    expect([elsewhere.status, elsewhere.body.error.code]).toEqual([404, 'GUARDIAN_LINK_NOT_FOUND']);
    const rejected = await request(app.baseUrl).post(`/v1/schools/${school.id}/guardian-links/${link.body.id}/reject`).set(auth(school.accountant)).send({ reason: 'Không có giấy tờ chứng minh' });
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe('rejected');
    const mine = await request(app.baseUrl).get('/v1/me/guardian-links').set(auth(stranger.personalId));
    expectContract(mine, 'get', '/v1/me/guardian-links');
    expect(mine.body.data[0]).toMatchObject({ status: 'rejected' });
    expect(mine.body.data[0].history.at(-1)).toMatchObject({ to_status: 'rejected', note: 'Không có giấy tờ chứng minh' });
  });

  test('a guardian revokes their own link; someone else\'s link answers 404 and is untouched', async () => {
    const [, younger] = await Promise.all(family.children.map(student));
    const mother = await requestLink(family.mother.personalId, younger!);
    expect(mother.body.status).toBe('verified');
    const byFather = await request(app.baseUrl).post(`/v1/me/guardian-links/${mother.body.id}/revoke`).set(auth(family.father.personalId)).send({});
    expect([byFather.status, byFather.body.error.code]).toEqual([404, 'GUARDIAN_LINK_NOT_FOUND']);
    const own = await request(app.baseUrl).post(`/v1/me/guardian-links/${mother.body.id}/revoke`).set(auth(family.mother.personalId)).send({ reason: 'Bố cháu lo việc đóng tiền' });
    expect(own.status).toBe(200);
    expect(own.body.status).toBe('revoked');
    const again = await request(app.baseUrl).post(`/v1/me/guardian-links/${mother.body.id}/revoke`).set(auth(family.mother.personalId)).send({});
    expect([again.status, again.body.error.code]).toEqual([409, 'GUARDIAN_LINK_NOT_ACTIVE']);
    expect((await request(app.baseUrl).get('/v1/me').set(auth(family.mother.personalId))).body.roles).not.toContain('guardian');
  });
});

describe('what a guardian sees', () => {
  test('their wards\' invoices and statements; another family\'s are 404', async () => {
    const ctx = { db: app.db, clock: app.clock, principal: await loadPrincipal(app.db, school.accountant) };
    const run = await startInvoiceRun(ctx, school.id, { kind: 'month', month: '2026-11' });
    await executeInvoiceRun(app.db, app.clock, school.id, run.id);
    await issueRunInvoices(ctx, school.id, run.id);
    const [elder] = await Promise.all(family.children.map(student));
    const statements = await request(app.baseUrl).get(`/v1/me/students/${elder!.id}/statements`).set(auth(family.father.personalId));
    expect(statements.status).toBe(200);
    expectContract(statements, 'get', '/v1/me/students/{student_id}/statements');
    expect(statements.body.data).toHaveLength(1);
    const invoiceId = statements.body.data[0].invoices[0].id as string;
    // Staff reads of a student's account are audited; the guardian's own are not.
    expect(await app.db('audit_events').where({ action: 'student.statement_viewed', subject_id: elder!.id })).toHaveLength(0);
    expect((await request(app.baseUrl).get(`/v1/schools/${school.id}/students/${elder!.id}/statement`).set(auth(school.accountant))).status).toBe(200);
    expect(await app.db('audit_events').where({ school_id: school.id, action: 'student.statement_viewed', subject_id: elder!.id, actor_person_id: (await student(school.accountant)).id })).toHaveLength(1);
    expect((await request(app.baseUrl).get(`/v1/invoices/${invoiceId}`).set(auth(family.father.personalId))).status).toBe(200);

    const neighbour = families.find((f) => f.schoolCode === school.code && !f.children.some((c) => family.children.includes(c)))!;
    const theirs = await student(neighbour.children[0]!);
    const theirInvoice = await app.db('invoices').where({ school_id: school.id, person_id: theirs.id }).first<{ id: string }>('id');
    for (const path of [`/v1/me/students/${theirs.id}/statements`, `/v1/invoices/${theirInvoice.id}`, `/v1/invoices/${theirInvoice.id}/qr.svg`]) {
      const res = await request(app.baseUrl).get(path).set(auth(family.father.personalId));
      expect(res.status).toBe(404);
    }
    // A guardian is not staff: school routes stay closed.
    expect((await request(app.baseUrl).get(`/v1/schools/${school.id}/guardian-links`).set(auth(family.father.personalId))).status).toBe(404);
  });
});

describe('the 18th birthday', () => {
  test('guardianship ends on the day the student turns 18; the link reads as ended and the student\'s records close to the former guardian', async () => {
    const teen = { personalId: '079208777002', fullName: 'Võ Minh Khôi', dateOfBirth: '2008-12-10', gender: 'male' as const };
    const teenId = await addPerson(teen);
    await app.db('enrollments').insert({ school_id: school.id, class_id: school.classes.at(-1)!.id, person_id: teenId, enrolled_on: '2026-09-05' });
    await app.db('sim_registry_relations').insert({ student_personal_id: teen.personalId, relation: 'mother', personal_id: family.mother.personalId, full_name: family.mother.fullName, date_of_birth: family.mother.dateOfBirth, gender: 'female' });
    const link = await requestLink(family.mother.personalId, { personal_id: teen.personalId, date_of_birth: teen.dateOfBirth });
    expect(link.body).toMatchObject({ status: 'verified', ends_on: '2026-12-10' });
    expect((await request(app.baseUrl).get('/v1/me/students').set(auth(family.mother.personalId))).body.data.map((s: { student_id: string }) => s.student_id)).toContain(teenId);

    app.clock.set(new Date('2026-12-09T16:59:59Z')); // 23:59:59 on 9 December in Vietnam
    expect((await request(app.baseUrl).get('/v1/me/students').set(auth(family.mother.personalId))).body.data.map((s: { student_id: string }) => s.student_id)).toContain(teenId);
    app.clock.set(new Date('2026-12-09T17:00:00Z')); // midnight, 10 December in Vietnam
    const after = await request(app.baseUrl).get('/v1/me/guardian-links').set(auth(family.mother.personalId));
    expect(after.body.data.find((l: { id: string }) => l.id === link.body.id)).toMatchObject({ status: 'ended' });
    expect((await request(app.baseUrl).get('/v1/me/students').set(auth(family.mother.personalId))).body.data.map((s: { student_id: string }) => s.student_id)).not.toContain(teenId);
    expect((await request(app.baseUrl).get(`/v1/me/students/${teenId}/statements`).set(auth(family.mother.personalId))).status).toBe(404);
    app.clock.set(new Date('2026-11-22T03:00:00Z'));
  });
});
