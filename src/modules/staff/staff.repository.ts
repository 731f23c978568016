import type { Db } from '../../db/knex';

export interface StaffAssignmentRow {
  id: string;
  school_id: string;
  person_id: string;
  full_name: string;
  personal_id: string;
  role: 'accountant' | 'school_admin';
  assigned_at: Date;
  revoked_at: Date | null;
}

function assignmentsQuery(db: Db) {
  return db('staff_assignments as a')
    .join('people as p', 'p.id', 'a.person_id')
    .select('a.id', 'a.school_id', 'a.person_id', 'p.full_name', 'p.personal_id', 'a.role', 'a.assigned_at', 'a.revoked_at');
}

export async function listAssignments(db: Db, schoolId: string, page: { limit: number; startingAfter?: string; includeRevoked: boolean }): Promise<StaffAssignmentRow[]> {
  const query = assignmentsQuery(db).where('a.school_id', schoolId);
  if (!page.includeRevoked) query.whereNull('a.revoked_at');
  if (page.startingAfter) query.where('a.id', '>', page.startingAfter);
  return query.orderBy('a.id').limit(page.limit + 1);
}

export async function findAssignment(db: Db, schoolId: string, id: string): Promise<StaffAssignmentRow | undefined> {
  return assignmentsQuery(db).where({ 'a.school_id': schoolId, 'a.id': id }).first();
}

export async function insertAssignment(db: Db, row: { schoolId: string; personId: string; role: string; assignedBy: string; at: Date }): Promise<string> {
  const [inserted] = await db('staff_assignments')
    .insert({ school_id: row.schoolId, person_id: row.personId, role: row.role, assigned_by: row.assignedBy, assigned_at: row.at })
    .returning<{ id: string }[]>('id');
  return inserted!.id;
}

/** Marks an active assignment revoked; returns false if it was already revoked. */
export async function revokeAssignment(db: Db, schoolId: string, id: string, by: string, at: Date): Promise<boolean> {
  const updated = await db('staff_assignments').where({ school_id: schoolId, id }).whereNull('revoked_at').update({ revoked_at: at, revoked_by: by });
  return updated === 1;
}

/** Active school admins, locked so two concurrent revocations cannot remove the last one. */
export async function lockActiveAdmins(db: Db, schoolId: string): Promise<{ id: string }[]> {
  return db('staff_assignments').where({ school_id: schoolId, role: 'school_admin' }).whereNull('revoked_at').forUpdate().select('id');
}
