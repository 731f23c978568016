import request from 'supertest';
import { DEMO_SCHOOLS } from '../../seeds/demo-data';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';
import { demoSchool, financeOfficer } from '../factories/demo';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

const get = (path: string, personalId: string) => request(app.baseUrl).get(path).set('authorization', `Bearer ${app.tokenFor(personalId)}`);

describe('GET /v1/schools', () => {
  test('when an accountant lists schools, then they see only their own school', async () => {
    const school = await demoSchool(app.db, 2);
    const res = await get('/v1/schools', school.accountant);
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/schools');
    expect(res.body.data.map((s: { id: string }) => s.id)).toEqual([school.id]);
    expect(res.body.data[0].name).toBe(DEMO_SCHOOLS[2]!.name);
  });

  test('when a district finance officer lists schools, then they see the schools of their district', async () => {
    const res = await get('/v1/schools', financeOfficer('NB'));
    expect(res.status).toBe(200);
    const expected = DEMO_SCHOOLS.filter((s) => s.district === 'NB').map((s) => s.code).sort();
    expect(res.body.data.map((s: { code: string }) => s.code)).toEqual(expected);
    expect(res.body.data.every((s: { district: { name: string } }) => s.district.name === 'Huyện Nhà Bè')).toBe(true);
  });

  test('when the city finance officer pages through schools, then every school appears once in code order', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await get(`/v1/schools?limit=4${cursor ? `&starting_after=${cursor}` : ''}`, financeOfficer(null));
      expect(res.status).toBe(200);
      expectContract(res, 'get', '/v1/schools');
      seen.push(...res.body.data.map((s: { code: string }) => s.code));
      if (!res.body.has_more) break;
      cursor = res.body.data.at(-1).id;
    }
    expect(seen).toEqual(DEMO_SCHOOLS.map((s) => s.code).sort());
  });

  test.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['colour=red', 'colour'],
    ['district_id=nope', 'district_id'],
  ])('when the query is %s, then 400 names the parameter', async (query, param) => {
    const res = await get(`/v1/schools?${query}`, financeOfficer(null));
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe(param);
    expectContract(res, 'get', '/v1/schools');
  });
});

describe('GET /v1/schools/{school_id}', () => {
  test('when a school is outside the caller\'s scope, then 404 (not 403)', async () => {
    const mine = await demoSchool(app.db, 0);
    const theirs = await demoSchool(app.db, 3);
    const res = await get(`/v1/schools/${theirs.id}`, mine.admin);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('SCHOOL_NOT_FOUND');
    expectContract(res, 'get', '/v1/schools/{school_id}');
    const unknown = await get('/v1/schools/sch_00000000000000000000000000000000', mine.admin);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: { ...res.body.error, request_id: unknown.body.error.request_id } });
  });

  test('when a district officer opens a school of their district, then it is returned', async () => {
    const school = await demoSchool(app.db, 4);
    const res = await get(`/v1/schools/${school.id}`, financeOfficer('GV'));
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/schools/{school_id}');
    expect(res.body).toMatchObject({ id: school.id, code: school.code, tax_code: DEMO_SCHOOLS[4]!.taxCode });
    expect((await get(`/v1/schools/${school.id}`, financeOfficer('Q12'))).status).toBe(404);
  });
});

describe('GET /v1/schools/{school_id}/classes', () => {
  test('when staff list classes, then they come in grade order with student counts', async () => {
    const school = await demoSchool(app.db, 1);
    const res = await get(`/v1/schools/${school.id}/classes?academic_year=2026-2027&limit=100`, school.accountant);
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/schools/{school_id}/classes');
    expect(res.body.data.map((c: { name: string }) => c.name)).toEqual(['1/1', '1/2', '2/1', '2/2', '3/1', '3/2', '4/1', '4/2', '5/1', '5/2']);
    expect(res.body.data.every((c: { student_count: number }) => c.student_count === 36)).toBe(true);
    const none = await get(`/v1/schools/${school.id}/classes?academic_year=2025-2026`, school.accountant);
    expect(none.body).toEqual({ data: [], has_more: false });
  });

  test('when classes are paged, then pages join up without gaps or repeats', async () => {
    const school = await demoSchool(app.db, 0);
    const first = await get(`/v1/schools/${school.id}/classes?limit=5`, school.admin);
    const second = await get(`/v1/schools/${school.id}/classes?limit=100&starting_after=${first.body.data.at(-1).id}`, school.admin);
    expect(first.body.has_more).toBe(true);
    expect(second.body.has_more).toBe(false);
    const ids = [...first.body.data, ...second.body.data].map((c: { id: string }) => c.id);
    expect(ids).toEqual(school.classes.map((c) => c.id));
  });
});
