import type { Knex } from 'knex';
import type { Db } from '../../db/knex';

export type LinkStatus = 'pending' | 'verified' | 'rejected' | 'revoked';
export type Relation = 'father' | 'mother' | 'legal_guardian';

export interface LinkRow {
  id: string;
  guardian_person_id: string;
  student_person_id: string;
  relation: Relation | null;
  status: LinkStatus;
  verified_by: 'population_registry' | 'chip_card' | null;
  requested_at: Date;
  updated_at: Date;
  guardian_personal_id: string;
  guardian_full_name: string;
  student_personal_id: string;
  student_full_name: string;
  student_date_of_birth: string;
  /** The student's 18th birthday: guardianship ends that day. */
  ends_on: string;
}

export interface LinkEventRow {
  link_id: string;
  from_status: string | null;
  to_status: string;
  actor_person_id: string;
  actor_role: string;
  at_school_id: string | null;
  evidence: Record<string, unknown>;
  note: string | null;
  occurred_at: Date;
}

function linkQuery(db: Db) {
  return db('guardian_links as l')
    .join('people as g', 'g.id', 'l.guardian_person_id')
    .join('people as s', 's.id', 'l.student_person_id')
    .select<LinkRow[]>(
      'l.*',
      'g.personal_id as guardian_personal_id',
      'g.full_name as guardian_full_name',
      's.personal_id as student_personal_id',
      's.full_name as student_full_name',
      's.date_of_birth as student_date_of_birth',
      db.raw("to_char(s.date_of_birth + interval '18 years', 'YYYY-MM-DD') AS ends_on"),
    );
}

export async function findLink(db: Db, linkId: string, forUpdate = false): Promise<LinkRow | undefined> {
  const q = linkQuery(db).where('l.id', linkId);
  if (forUpdate) q.forUpdate('l');
  return (await q)[0];
}

export async function listLinksOfGuardian(db: Db, guardianPersonId: string): Promise<LinkRow[]> {
  return linkQuery(db).where('l.guardian_person_id', guardianPersonId).orderBy([{ column: 'l.requested_at', order: 'desc' }, { column: 'l.id' }]);
}

/** Links of students enrolled at the school (an open enrollment), for its staff. */
export async function listLinksAtSchool(db: Db, schoolId: string, filter: { status?: LinkStatus }, page: { limit: number; startingAfter?: string }): Promise<LinkRow[]> {
  const q = linkQuery(db).whereExists((e) => e.select(db.raw('1')).from('enrollments as e').whereRaw('e.person_id = l.student_person_id').where('e.school_id', schoolId).whereNull('e.left_on'));
  if (filter.status) q.where('l.status', filter.status);
  if (page.startingAfter) q.where('l.id', '>', page.startingAfter);
  return q.orderBy('l.id').limit(page.limit + 1);
}

export async function listEvents(db: Db, linkIds: string[]): Promise<LinkEventRow[]> {
  if (linkIds.length === 0) return [];
  return db('guardian_link_events').whereIn('link_id', linkIds).orderBy('event_no').select<LinkEventRow[]>('*');
}

export async function isEnrolledAt(db: Db, schoolId: string, personId: string): Promise<boolean> {
  return Boolean(await db('enrollments').where({ school_id: schoolId, person_id: personId }).whereNull('left_on').first('id'));
}

/** A student as linking needs them: the person with an open enrollment somewhere. */
export async function findEnrolledStudent(db: Db, personalId: string): Promise<{ id: string; personal_id: string; full_name: string; date_of_birth: string } | undefined> {
  return db('people as p')
    .where('p.personal_id', personalId)
    .whereExists((e) => e.select(db.raw('1')).from('enrollments as e').whereRaw('e.person_id = p.id').whereNull('e.left_on'))
    .first('p.id', 'p.personal_id', 'p.full_name', 'p.date_of_birth');
}

export async function insertLink(trx: Knex.Transaction, row: { guardian_person_id: string; student_person_id: string; relation: Relation | null; status: LinkStatus; verified_by: LinkRow['verified_by']; at: Date }): Promise<string> {
  const [inserted] = await trx('guardian_links')
    .insert({ guardian_person_id: row.guardian_person_id, student_person_id: row.student_person_id, relation: row.relation, status: row.status, verified_by: row.verified_by, requested_at: row.at, updated_at: row.at })
    .returning<{ id: string }[]>('id');
  return inserted!.id;
}

/** Moves a link from one status to another; returns false when it was no longer in `from` (a race). */
export async function transitionLink(trx: Knex.Transaction, linkId: string, from: LinkStatus[], to: { status: LinkStatus; relation?: Relation; verified_by?: LinkRow['verified_by']; at: Date }): Promise<boolean> {
  const changes: Record<string, unknown> = { status: to.status, updated_at: to.at };
  if (to.relation) changes.relation = to.relation;
  if (to.verified_by !== undefined) changes.verified_by = to.verified_by;
  const n = await trx('guardian_links').where({ id: linkId }).whereIn('status', from).update(changes);
  return n === 1;
}

export async function insertEvent(trx: Knex.Transaction, event: Omit<LinkEventRow, 'evidence'> & { evidence?: Record<string, unknown> }): Promise<void> {
  await trx('guardian_link_events').insert({ ...event, evidence: JSON.stringify(event.evidence ?? {}) });
}

/** Students the person is a verified guardian of, with their current schools and classes. */
export async function listWardsWithEnrollments(db: Db, studentIds: string[]) {
  if (studentIds.length === 0) return [];
  return db('people as p')
    .join('enrollments as e', (j) => j.on('e.person_id', '=', 'p.id').andOnNull('e.left_on'))
    .join('schools as sc', 'sc.id', 'e.school_id')
    .join('classes as c', (j) => j.on('c.school_id', '=', 'e.school_id').andOn('c.id', '=', 'e.class_id'))
    .whereIn('p.id', studentIds)
    .orderBy([{ column: 'p.date_of_birth' }, { column: 'p.id' }])
    .select<{ id: string; personal_id: string; full_name: string; date_of_birth: string; school_id: string; school_name: string; class_id: string; class_name: string }[]>(
      'p.id', 'p.personal_id', 'p.full_name', 'p.date_of_birth', 'e.school_id', 'sc.name as school_name', 'c.id as class_id', 'c.name as class_name',
    );
}
