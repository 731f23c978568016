import type { Db } from '../../db/knex';

export async function listActiveStaffRoles(db: Db, personId: string): Promise<{ school_id: string; role: 'accountant' | 'school_admin' }[]> {
  return db('staff_assignments').where({ person_id: personId }).whereNull('revoked_at').orderBy(['school_id', 'role']).select('school_id', 'role');
}

export async function listActiveFinanceScopes(db: Db, personId: string): Promise<{ city_id: string; district_id: string | null }[]> {
  return db('finance_scopes').where({ person_id: personId }).whereNull('revoked_at').orderBy(['city_id', 'district_id']).select('city_id', 'district_id');
}

/** The district and city of a school, for finance-scope checks. */
export async function findSchoolPlacement(db: Db, schoolId: string): Promise<{ id: string; district_id: string; city_id: string } | undefined> {
  return db('schools as s')
    .join('districts as d', 'd.id', 's.district_id')
    .where('s.id', schoolId)
    .first<{ id: string; district_id: string; city_id: string } | undefined>('s.id', 's.district_id', 'd.city_id');
}

/**
 * Students the person is a verified guardian of on `today`: the link is verified and the student
 * has not turned 18 (guardianship ends on the 18th birthday; from then the student pays for themself).
 */
export async function listWards(db: Db, personId: string, today: string): Promise<string[]> {
  return db('guardian_links as l')
    .join('people as s', 's.id', 'l.student_person_id')
    .where({ 'l.guardian_person_id': personId, 'l.status': 'verified' })
    .whereRaw("s.date_of_birth + interval '18 years' > ?::date", [today])
    .orderBy('l.student_person_id')
    .pluck('l.student_person_id');
}
