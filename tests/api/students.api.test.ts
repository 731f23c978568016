import request from 'supertest';
import { expectContract } from '../support/contract';
import { startTestApp, type TestApp } from '../support/test-app';
import { countRows, demoSchool, financeOfficer } from '../factories/demo';
import { newStudent } from '../factories/people';

let app: TestApp;
let school: Awaited<ReturnType<typeof demoSchool>>;
let other: Awaited<ReturnType<typeof demoSchool>>;
beforeAll(async () => {
  app = await startTestApp();
  school = await demoSchool(app.db, 1); // primary, Nhà Bè
  other = await demoSchool(app.db, 3); // primary, Quận 12
});
afterAll(() => app.close());

const auth = (personalId: string) => ({ authorization: `Bearer ${app.tokenFor(personalId)}` });
const postStudent = (body: unknown, personalId = school.accountant, schoolId = school.id) =>
  request(app.baseUrl).post(`/v1/schools/${schoolId}/students`).set(auth(personalId)).send(body as object);

async function writeCounts() {
  return { people: await countRows(app.db, 'people'), enrollments: await countRows(app.db, 'enrollments') };
}

describe('POST /v1/schools/{school_id}/students', () => {
  test('when an accountant creates a student, then the student is enrolled and the act audited', async () => {
    const student = newStudent({ birthYear: 2019, fullName: 'Trần Gia Bảo', gender: 'male' });
    const res = await postStudent({ ...student, class_id: school.classes[1]!.id, enrolled_on: '2026-11-23' });
    expect(res.status).toBe(201);
    expectContract(res, 'post', '/v1/schools/{school_id}/students');
    expect(res.body).toMatchObject({ personal_id: student.personal_id, full_name: 'Trần Gia Bảo', date_of_birth: '2019-04-12', gender: 'male' });
    expect(res.body.enrollments).toEqual([expect.objectContaining({ school_id: school.id, class_id: school.classes[1]!.id, enrolled_on: '2026-11-23', left_on: null })]);
    const audit = await app.db('audit_events').where({ school_id: school.id, action: 'student.enrolled', subject_id: res.body.enrollments[0].id });
    expect(audit).toHaveLength(1);
  });

  test.each([
    ['too short', { personal_id: '07921900012' }, 'personal_id', 'PERSONAL_ID_FORMAT'],
    ['unknown province', { personal_id: '999219000123' }, 'personal_id', 'PERSONAL_ID_PROVINCE'],
    ['impossible birth year', { personal_id: '079299000123', date_of_birth: '1999-01-01' }, 'personal_id', 'PERSONAL_ID_BIRTH_YEAR'],
    ['birth year unlike the date of birth', { personal_id: '079219000123', date_of_birth: '2018-01-01' }, 'personal_id', 'PERSONAL_ID_BIRTH_YEAR_MISMATCH'],
    ['a date of birth in the future', { date_of_birth: '2027-01-01' }, 'date_of_birth', 'DATE_OF_BIRTH_INVALID'],
  ])('when the personal ID is %s, then 400 with the offending param and nothing written', async (_name, change, param, detailCode) => {
    const before = await writeCounts();
    const res = await postStudent({ ...newStudent({ birthYear: 2019 }), class_id: school.classes[0]!.id, ...change });
    expect(res.status).toBe(400);
    expectContract(res, 'post', '/v1/schools/{school_id}/students');
    expect(res.body.error.param).toBe(param);
    expect(res.body.error.details.map((d: { code: string }) => d.code)).toContain(detailCode);
    expect(await writeCounts()).toEqual(before);
  });

  test.each([
    ['an unknown field', { ...newStudent(), class_id: 'cls_00000000000000000000000000000000', nickname: 'Bé' }, 'UNKNOWN_FIELD', 'nickname'],
    ['a wrong type', { ...newStudent(), personal_id: 79215000123, class_id: 'cls_00000000000000000000000000000000' }, 'VALIDATION_FAILED', 'personal_id'],
    ['a missing field', { personal_id: '079315000123', class_id: 'cls_00000000000000000000000000000000' }, 'VALIDATION_FAILED', 'full_name'],
  ])('when the body has %s, then 400 names it', async (_name, body, code, param) => {
    const before = await writeCounts();
    const res = await postStudent(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code, param, type: 'invalid_request_error' });
    expect(await writeCounts()).toEqual(before);
  });

  test('when the JSON is malformed, then 400 MALFORMED_JSON without internals', async () => {
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/students`).set(auth(school.accountant)).set('content-type', 'application/json').send('{"personal_id": ');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('MALFORMED_JSON');
    expect(JSON.stringify(res.body)).not.toMatch(/SyntaxError|at JSON|node_modules/);
  });

  test('when the body is not JSON, then 415', async () => {
    const res = await request(app.baseUrl).post(`/v1/schools/${school.id}/students`).set(auth(school.accountant)).set('content-type', 'text/plain').send('hello');
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('when the class belongs to another school, then 404 CLASS_NOT_FOUND and nothing written', async () => {
    const before = await writeCounts();
    const res = await postStudent({ ...newStudent(), class_id: other.classes[0]!.id });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('CLASS_NOT_FOUND');
    expect(await writeCounts()).toEqual(before);
  });

  test('when the caller is staff of another school, then 404; a finance officer in scope gets 403', async () => {
    const body = { ...newStudent(), class_id: school.classes[0]!.id };
    const outsider = await postStudent(body, other.accountant);
    expect(outsider.status).toBe(404);
    expect(outsider.body.error.code).toBe('SCHOOL_NOT_FOUND');
    const finance = await postStudent(body, financeOfficer('NB'));
    expect(finance.status).toBe(403);
    expect(finance.body.error.code).toBe('ROLE_REQUIRED');
  });

  test('when the student is already enrolled, then 409; a known personal ID with another name is a 409 mismatch', async () => {
    const student = { ...newStudent({ birthYear: 2018 }), class_id: school.classes[2]!.id };
    expect((await postStudent(student)).status).toBe(201);
    const again = await postStudent(student);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('STUDENT_ALREADY_IN_CLASS');
    const elsewhere = await postStudent({ ...student, class_id: other.classes[2]!.id }, other.accountant, other.id);
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.error.code).toBe('STUDENT_ALREADY_ENROLLED');
    const renamed = await postStudent({ ...student, full_name: 'Tên Khác Hẳn', class_id: other.classes[2]!.id }, other.accountant, other.id);
    expect(renamed.status).toBe(409);
    expect(renamed.body.error.code).toBe('PERSON_DETAILS_MISMATCH');
  });

  test('when the same new student is created ten times at once, then exactly one enrollment exists', async () => {
    const student = { ...newStudent({ birthYear: 2017 }), class_id: school.classes[4]!.id };
    const results = await Promise.all(Array.from({ length: 10 }, () => postStudent(student)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 409)).toBe(true);
    const person = await app.db('people').where({ personal_id: student.personal_id }).first<{ id: string }>();
    expect(await app.db('enrollments').where({ person_id: person.id })).toHaveLength(1);
  });

  test('when one new student is enrolled at two schools at once, then only one enrollment lands', async () => {
    for (let round = 0; round < 5; round++) {
      const student = newStudent({ birthYear: 2017 });
      const [a, b] = await Promise.all([
        postStudent({ ...student, class_id: school.classes[5]!.id }),
        postStudent({ ...student, class_id: other.classes[5]!.id }, other.accountant, other.id),
      ]);
      expect([a.status, b.status].sort()).toEqual([201, 409]);
      const person = await app.db('people').where({ personal_id: student.personal_id }).first<{ id: string }>();
      expect(await app.db('enrollments').where({ person_id: person.id }).whereNull('left_on')).toHaveLength(1);
    }
  });

  test('when a create is retried with the same Idempotency-Key, then the first response is replayed', async () => {
    const student = { ...newStudent({ birthYear: 2016 }), class_id: school.classes[6]!.id };
    const first = await postStudent(student).set('idempotency-key', 'create-student-0001');
    const replay = await postStudent(student).set('idempotency-key', 'create-student-0001');
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    const misuse = await postStudent({ ...student, full_name: 'Người Khác' }).set('idempotency-key', 'create-student-0001');
    expect(misuse.status).toBe(422);
    expect(misuse.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // After 24 hours the key is forgotten: the same request runs again (and meets the natural key).
    app.clock.advanceMs(25 * 60 * 60 * 1000);
    try {
      const later = await postStudent(student).set('idempotency-key', 'create-student-0001');
      expect(later.status).toBe(409);
      expect(later.headers['idempotent-replayed']).toBeUndefined();
    } finally {
      app.clock.advanceMs(-25 * 60 * 60 * 1000);
    }
  });
});

describe('GET /v1/students/{personal_id}', () => {
  test('when staff of the student\'s school look a student up, then they see the record and the read is audited', async () => {
    const enrolled = await app.db('enrollments as e').join('people as p', 'p.id', 'e.person_id').where('e.school_id', school.id).first<{ personal_id: string; person_id: string }>('p.personal_id', 'e.person_id');
    const res = await request(app.baseUrl).get(`/v1/students/${enrolled.personal_id}`).set(auth(school.admin));
    expect(res.status).toBe(200);
    expectContract(res, 'get', '/v1/students/{personal_id}');
    expect(res.body.personal_id).toBe(enrolled.personal_id);
    expect(await app.db('audit_events').where({ school_id: school.id, action: 'student.viewed', subject_id: enrolled.person_id })).toHaveLength(1);
  });

  test('when anyone else looks the student up, then 404 and a malformed number is 400', async () => {
    const enrolled = await app.db('enrollments as e').join('people as p', 'p.id', 'e.person_id').where('e.school_id', school.id).first<{ personal_id: string }>('p.personal_id');
    for (const personalId of [other.accountant, financeOfficer('NB'), financeOfficer(null)]) {
      const res = await request(app.baseUrl).get(`/v1/students/${enrolled.personal_id}`).set(auth(personalId));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('STUDENT_NOT_FOUND');
    }
    const bad = await request(app.baseUrl).get('/v1/students/12345').set(auth(school.admin));
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('personal_id');
  });

  test('the personal ID in the path never reaches the logs in full', async () => {
    const enrolled = await app.db('enrollments as e').join('people as p', 'p.id', 'e.person_id').where('e.school_id', school.id).first<{ personal_id: string }>('p.personal_id');
    await request(app.baseUrl).get(`/v1/students/${enrolled.personal_id}`).set(auth(school.admin));
    await postStudent({ ...newStudent(), personal_id: '99921500012', class_id: school.classes[0]!.id });
    expect(app.logText()).toContain(`/v1/students/${enrolled.personal_id.slice(0, 3)}******${enrolled.personal_id.slice(9)}`);
    expect(app.logText().match(/(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])/g)).toBeNull();
  });
});

describe('GET /v1/schools/{school_id}/classes/{class_id}/students', () => {
  test('when staff page through a class, then every student appears once, sorted by given name', async () => {
    const klass = school.classes[9]!;
    const seen: { id: string; full_name: string }[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const res = await request(app.baseUrl)
        .get(`/v1/schools/${school.id}/classes/${klass.id}/students`)
        .query({ limit: 10, ...(cursor ? { starting_after: cursor } : {}) })
        .set(auth(school.accountant));
      expect(res.status).toBe(200);
      expectContract(res, 'get', '/v1/schools/{school_id}/classes/{class_id}/students');
      seen.push(...res.body.data);
      if (!res.body.has_more) break;
      cursor = res.body.data.at(-1).id;
    }
    expect(seen).toHaveLength(36);
    expect(new Set(seen.map((s) => s.id)).size).toBe(36);
    const given = seen.map((s) => s.full_name.split(' ').at(-1) as string);
    const db = await app.db.raw<{ rows: { g: string }[] }>(
      `SELECT regexp_replace(p.full_name, '^.*\\s', '') AS g FROM enrollments e JOIN people p ON p.id = e.person_id WHERE e.school_id = ? AND e.class_id = ? ORDER BY 1, p.full_name, p.id`,
      [school.id, klass.id],
    );
    expect(given).toEqual(db.rows.map((r) => r.g));
  });

  test('when a finance officer asks for a class list, then 403; staff of another school get 404', async () => {
    const path = `/v1/schools/${school.id}/classes/${school.classes[0]!.id}/students`;
    expect((await request(app.baseUrl).get(path).set(auth(financeOfficer('NB')))).status).toBe(403);
    expect((await request(app.baseUrl).get(path).set(auth(other.admin))).status).toBe(404);
  });
});

describe('POST /v1/schools/{school_id}/classes/{class_id}/roster-imports', () => {
  const importCsv = (csv: string, classId = school.classes[3]!.id) =>
    request(app.baseUrl).post(`/v1/schools/${school.id}/classes/${classId}/roster-imports`).set(auth(school.accountant)).set('content-type', 'text/csv').send(csv);

  test('when the header is wrong, then 400 CSV_HEADER_INVALID and nothing written', async () => {
    const before = await writeCounts();
    const res = await importCsv('cccd,ho_ten,ngay_sinh,gioi_tinh\n079215000123,Nguyễn Văn A,2015-01-01,Nam\n');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'CSV_HEADER_INVALID', param: 'header' });
    expectContract(res, 'post', '/v1/schools/{school_id}/classes/{class_id}/roster-imports');
    expect(await writeCounts()).toEqual(before);
  });

  test('when some rows are bad, then the valid rows land and the report says why the others failed', async () => {
    const a = newStudent({ birthYear: 2017, gender: 'male' });
    const b = newStudent({ birthYear: 2017, gender: 'female' });
    const csv = [
      'personal_id,full_name,date_of_birth,gender',
      `${a.personal_id},Phạm Quốc Huy,12/04/2017,Nam`,
      `${b.personal_id},"Võ Ngọc Trâm",2017-04-12,Nữ`,
      '999217000001,Lê Văn Sai,2017-01-01,Nam',
      `${a.personal_id},Phạm Quốc Huy,12/04/2017,Nam`,
      '079317000002,,2017-02-30,X',
    ].join('\r\n');
    const before = await writeCounts();
    const res = await importCsv(csv);
    expect(res.status).toBe(200);
    expectContract(res, 'post', '/v1/schools/{school_id}/classes/{class_id}/roster-imports');
    expect(res.body).toMatchObject({ total_rows: 5, imported: 2, unchanged: 0, failed: 3 });
    expect(res.body.rows.map((r: { line: number; status: string }) => [r.line, r.status])).toEqual([[2, 'imported'], [3, 'imported'], [4, 'failed'], [5, 'failed'], [6, 'failed']]);
    expect(res.body.rows[2].errors.map((e: { code: string }) => e.code)).toEqual(['PERSONAL_ID_PROVINCE']);
    expect(res.body.rows[3].errors.map((e: { code: string }) => e.code)).toEqual(['DUPLICATE_IN_FILE']);
    expect(res.body.rows[4].errors.map((e: { param: string }) => e.param).sort()).toEqual(['date_of_birth', 'full_name', 'gender']);
    expect(await writeCounts()).toEqual({ people: before.people + 2, enrollments: before.enrollments + 2 });
    expect(await app.db('people').where({ personal_id: b.personal_id }).first()).toMatchObject({ full_name: 'Võ Ngọc Trâm', gender: 'female' });

    const again = await importCsv(csv.split('\r\n').slice(0, 3).join('\n'));
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ imported: 0, unchanged: 2, failed: 0 });
    expect(await writeCounts()).toEqual({ people: before.people + 2, enrollments: before.enrollments + 2 });
  });

  test('when every row is bad, then 400 ROSTER_ROWS_INVALID with the report and nothing written', async () => {
    const before = await writeCounts();
    const res = await importCsv('personal_id,full_name,date_of_birth,gender\n12,A,2015-01-01,Nam\n');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('ROSTER_ROWS_INVALID');
    expect(res.body.error.details).toMatchObject({ total_rows: 1, failed: 1 });
    expect(await writeCounts()).toEqual(before);
  });

  test('when the file is not CSV or is malformed, then 415 or 400', async () => {
    const json = await request(app.baseUrl).post(`/v1/schools/${school.id}/classes/${school.classes[3]!.id}/roster-imports`).set(auth(school.accountant)).send({ a: 1 });
    expect(json.status).toBe(415);
    const broken = await importCsv('personal_id,full_name,date_of_birth,gender\n"079215000123,Nguyễn,2015-01-01,Nam\n');
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('CSV_MALFORMED');
  });
});
