import type { Db } from '../../db/knex';

/** The district and city of a school, for finance-scope checks. */
export async function findSchoolPlacement(db: Db, schoolId: string): Promise<{ id: string; district_id: string; city_id: string } | undefined> {
  return db('schools as s')
    .join('districts as d', 'd.id', 's.district_id')
    .where('s.id', schoolId)
    .first<{ id: string; district_id: string; city_id: string } | undefined>('s.id', 's.district_id', 'd.city_id');
}

export interface PrincipalRow {
  id: string;
  personal_id: string;
  full_name: string;
  date_of_birth: string;
  staff: { school_id: string; role: 'accountant' | 'school_admin' }[];
  finance: { city_id: string; district_id: string | null }[];
  wards: string[];
}

/**
 * The person with their active staff roles, finance scopes and wards, in one round trip: it runs
 * on every authenticated request. Wards are the students the person is a verified guardian of on
 * `today`: guardianship ends on the 18th birthday, from when the student pays for themself.
 */
export async function findPrincipalRow(db: Db, personalId: string, today: string): Promise<PrincipalRow | undefined> {
  const { rows } = await db.raw<{ rows: PrincipalRow[] }>(
    `SELECT p.id, p.personal_id, p.full_name, p.date_of_birth,
       coalesce((SELECT json_agg(json_build_object('school_id', s.school_id, 'role', s.role) ORDER BY s.school_id, s.role)
                 FROM staff_assignments s WHERE s.person_id = p.id AND s.revoked_at IS NULL), '[]') AS staff,
       coalesce((SELECT json_agg(json_build_object('city_id', f.city_id, 'district_id', f.district_id) ORDER BY f.city_id, f.district_id)
                 FROM finance_scopes f WHERE f.person_id = p.id AND f.revoked_at IS NULL), '[]') AS finance,
       coalesce((SELECT array_agg(l.student_person_id ORDER BY l.student_person_id)
                 FROM guardian_links l JOIN people st ON st.id = l.student_person_id
                 WHERE l.guardian_person_id = p.id AND l.status = 'verified' AND st.date_of_birth + interval '18 years' > :today::date), '{}') AS wards
     FROM people p WHERE p.personal_id = :personalId`,
    { personalId, today },
  );
  return rows[0];
}
