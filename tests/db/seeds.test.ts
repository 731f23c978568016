import { findPersonalIdProblem } from '../../src/lib/personal-id';
import { seedDemoData } from '../../seeds/demo-data';
import { createTestDatabase, type TestDatabase } from '../support/test-db';
import { countRows } from '../factories/demo';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ seeded: true });
});
afterAll(() => database.drop());

describe('demo data', () => {
  test('holds HCMC with Quận 12, Gò Vấp and Nhà Bè, six schools and over 2,000 students born 2010-2020', async () => {
    const db = database.db;
    expect(await db('districts').pluck('name')).toEqual(expect.arrayContaining(['Quận 12', 'Quận Gò Vấp', 'Huyện Nhà Bè']));
    expect(await countRows(db, 'schools')).toBeGreaterThanOrEqual(6);
    expect(await db('schools').pluck('name')).toContain('Trường THCS Nguyễn Bỉnh Khiêm');
    const students = await db('enrollments as e').join('people as p', 'p.id', 'e.person_id').select<{ personal_id: string; date_of_birth: string; full_name: string }[]>('p.personal_id', 'p.date_of_birth', 'p.full_name');
    expect(students.length).toBeGreaterThanOrEqual(2000);
    for (const s of students) {
      expect(findPersonalIdProblem(s.personal_id, { currentYear: 2026, dateOfBirth: s.date_of_birth, minBirthYear: 2010, maxBirthYear: 2020 })).toBeNull();
      expect(s.personal_id.startsWith('079')).toBe(true);
    }
    // Names carry Vietnamese diacritics, stored in NFC.
    expect(students.some((s) => /[ăâđêôơưàảãáạ]/i.test(s.full_name))).toBe(true);
    expect(students.every((s) => s.full_name === s.full_name.normalize('NFC'))).toBe(true);
  });

  test('gives every school an admin and an accountant, every district and the city a finance officer', async () => {
    const db = database.db;
    const roles = await db('staff_assignments').select('school_id', 'role');
    for (const school of await db('schools').pluck('id')) {
      expect(roles.filter((r) => r.school_id === school).map((r) => r.role).sort()).toEqual(['accountant', 'school_admin']);
    }
    const scopes = await db('finance_scopes').select('district_id');
    expect(scopes.filter((s) => s.district_id === null)).toHaveLength(1);
    expect(new Set(scopes.map((s) => s.district_id).filter(Boolean)).size).toBe(await countRows(db, 'districts'));
  });

  test('seeding again changes nothing', async () => {
    const before = await countRows(database.db, 'people');
    expect(await seedDemoData(database.db)).toBe(false);
    expect(await countRows(database.db, 'people')).toBe(before);
  });
});
