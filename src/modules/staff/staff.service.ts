import type { Knex } from 'knex';
import { ConflictError, NotFoundError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { isUniqueViolation } from '../../lib/pg-errors';
import { type Principal, requireSchoolRole, type StaffRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { findPersonByPersonalId } from '../people/people.service';
import * as repo from './staff.repository';

export type { StaffAssignmentRow } from './staff.repository';

export interface StaffContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

/** Staff of a school (its accountants and admins) can see who works there. */
export async function listStaffAssignments(ctx: StaffContext, schoolId: string, page: { limit: number; startingAfter?: string; includeRevoked: boolean }): Promise<Page<repo.StaffAssignmentRow>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  return toPage(await repo.listAssignments(ctx.db, schoolId, page), page.limit);
}

/**
 * A school admin gives a person a role at the school. The person must be known to the service
 * (they have signed in through VNeID, or are on record), so roles attach to verified identities.
 */
export async function assignStaffRole(ctx: StaffContext, schoolId: string, input: { personalId: string; role: StaffRole }): Promise<repo.StaffAssignmentRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  const person = await findPersonByPersonalId(ctx.db, input.personalId);
  if (!person) {
    throw new UnprocessableError('PERSON_NOT_FOUND', 'No person with this personal ID is known; they must sign in through VNeID once first.', 'personal_id');
  }
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    let id: string;
    try {
      id = await repo.insertAssignment(trx, { schoolId, personId: person.id, role: input.role, assignedBy: ctx.principal.personId, at: now });
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('STAFF_ASSIGNMENT_EXISTS', 'This person already holds this role at this school.', { param: 'role' });
      throw e;
    }
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'staff.assigned', subjectType: 'staff_assignment', subjectId: id, details: { role: input.role }, requestId: ctx.requestId, at: now });
    return (await repo.findAssignment(trx, schoolId, id))!;
  });
}

/** A school admin ends an assignment. The school's last admin cannot be removed. */
export async function revokeStaffRole(ctx: StaffContext, schoolId: string, assignmentId: string): Promise<repo.StaffAssignmentRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const assignment = await repo.findAssignment(trx, schoolId, assignmentId);
    if (!assignment) throw new NotFoundError('STAFF_ASSIGNMENT_NOT_FOUND', 'No such staff assignment at this school.', 'assignment_id');
    if (assignment.revoked_at) throw new ConflictError('STAFF_ASSIGNMENT_REVOKED', 'This assignment was already revoked.');
    if (assignment.role === 'school_admin') {
      const admins = await repo.lockActiveAdmins(trx, schoolId);
      if (admins.length <= 1) throw new ConflictError('LAST_SCHOOL_ADMIN', 'A school must keep at least one admin.');
    }
    // The guarded UPDATE decides the race between two concurrent revocations: only one changes the row.
    if (!(await repo.revokeAssignment(trx, schoolId, assignmentId, ctx.principal.personId, now))) {
      throw new ConflictError('STAFF_ASSIGNMENT_REVOKED', 'This assignment was already revoked.');
    }
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'staff.revoked', subjectType: 'staff_assignment', subjectId: assignmentId, details: { role: assignment.role }, requestId: ctx.requestId, at: now });
    return (await repo.findAssignment(trx, schoolId, assignmentId))!;
  });
}
