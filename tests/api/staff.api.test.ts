import request from 'supertest';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';
import { demoSchool, financeOfficer } from '../factories/demo';

let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 5);
});
afterAll(() => app.close());

const auth = (personalId: string) => ({ authorization: `Bearer ${app.tokenFor(personalId)}` });
const path = () => `/v1/schools/${school.id}/staff-assignments`;
const NEW_ACCOUNTANT = '079192000777';

beforeAll(async () => {
  // A person known to the service (as after a first VNeID sign-in), not yet staff anywhere.
  await app.db('people').insert({ personal_id: NEW_ACCOUNTANT, full_name: 'Châu Thị Ngọc Hân', date_of_birth: '1992-05-06', gender: 'female' });
});

describe('/v1/schools/{school_id}/staff-assignments', () => {
  test('when the school admin lists staff, then the admin and the accountant are there with masked IDs', async () => {
    const res = await request(app.baseUrl).get(path()).set(auth(school.admin));
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/schools/{school_id}/staff-assignments');
    expect(res.body.data.map((a: { role: string }) => a.role).sort()).toEqual(['accountant', 'school_admin']);
    expect(JSON.stringify(res.body)).not.toContain(school.admin);
  });

  test('when the admin assigns a role, then the person gains it at once; revoking removes it at once', async () => {
    const before = await request(app.baseUrl).get(`/v1/schools/${school.id}`).set(auth(NEW_ACCOUNTANT));
    expect(before.status).toBe(404);

    const created = await request(app.baseUrl).post(path()).set(auth(school.admin)).send({ personal_id: NEW_ACCOUNTANT, role: 'accountant' });
    expect(created.status).toBe(201);
    expectContract(created, 'post', '/v1/schools/{school_id}/staff-assignments');
    const token = app.tokenFor(NEW_ACCOUNTANT);
    expect((await request(app.baseUrl).get(`/v1/schools/${school.id}`).set('authorization', `Bearer ${token}`)).status).toBe(200);

    const duplicate = await request(app.baseUrl).post(path()).set(auth(school.admin)).send({ personal_id: NEW_ACCOUNTANT, role: 'accountant' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('STAFF_ASSIGNMENT_EXISTS');

    const revoked = await request(app.baseUrl).delete(`${path()}/${created.body.id}`).set(auth(school.admin));
    expect(revoked.status).toBe(200);
    expectContract(revoked, 'delete', '/v1/schools/{school_id}/staff-assignments/{assignment_id}');
    expect(revoked.body.revoked_at).not.toBeNull();
    // The same, still unexpired token no longer opens the school.
    expect((await request(app.baseUrl).get(`/v1/schools/${school.id}`).set('authorization', `Bearer ${token}`)).status).toBe(404);
    expect(await app.db('audit_events').where({ school_id: school.id, subject_id: created.body.id }).orderBy('occurred_at').pluck('action')).toEqual(['staff.assigned', 'staff.revoked']);
  });

  test('when an accountant or a finance officer tries to assign roles, then 403; another school\'s admin gets 404', async () => {
    const body = { personal_id: NEW_ACCOUNTANT, role: 'school_admin' };
    expect((await request(app.baseUrl).post(path()).set(auth(school.accountant)).send(body)).status).toBe(403);
    expect((await request(app.baseUrl).post(path()).set(auth(financeOfficer('GV'))).send(body)).status).toBe(403);
    const otherAdmin = (await demoSchool(app.db, 0)).admin;
    expect((await request(app.baseUrl).post(path()).set(auth(otherAdmin)).send(body)).status).toBe(404);
  });

  test('when the person is unknown, then 422 PERSON_NOT_FOUND; a bad role is 400', async () => {
    const unknown = await request(app.baseUrl).post(path()).set(auth(school.admin)).send({ personal_id: '079180999999', role: 'accountant' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ code: 'PERSON_NOT_FOUND', param: 'personal_id' });
    const badRole = await request(app.baseUrl).post(path()).set(auth(school.admin)).send({ personal_id: NEW_ACCOUNTANT, role: 'principal' });
    expect(badRole.status).toBe(400);
    expect(badRole.body.error.param).toBe('role');
  });

  test('when the last admin would be revoked, then 409 LAST_SCHOOL_ADMIN', async () => {
    const list = await request(app.baseUrl).get(path()).set(auth(school.admin));
    const adminAssignment = list.body.data.find((a: { role: string }) => a.role === 'school_admin');
    const res = await request(app.baseUrl).delete(`${path()}/${adminAssignment.id}`).set(auth(school.admin));
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('LAST_SCHOOL_ADMIN');
  });
});
