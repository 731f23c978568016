import type { Response } from 'express';
import type { Knex } from 'knex';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { maskPersonalId } from '../../lib/personal-id';
import { AssignmentParams, CreateAssignmentBody, ListAssignmentsQuery, SchoolParams } from './staff.schemas';
import { assignStaffRole, listStaffAssignments, revokeStaffRole, type StaffAssignmentRow, type StaffContext } from './staff.service';

function renderAssignment(a: StaffAssignmentRow) {
  return {
    id: a.id,
    school_id: a.school_id,
    person_id: a.person_id,
    full_name: a.full_name,
    personal_id_masked: maskPersonalId(a.personal_id),
    role: a.role,
    assigned_at: a.assigned_at.toISOString(),
    revoked_at: a.revoked_at ? a.revoked_at.toISOString() : null,
  };
}

export function staffRoutes(deps: { db: Knex; clock: Clock }): RouteDef[] {
  const context = (res: Response): StaffContext => ({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string });
  return [
    {
      method: 'get',
      path: '/v1/schools/:school_id/staff-assignments',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const query = parseQuery(ListAssignmentsQuery, req);
        const page = await listStaffAssignments(context(res), school_id, { limit: query.limit, startingAfter: query.starting_after, includeRevoked: query.include_revoked });
        res.json({ data: page.data.map(renderAssignment), has_more: page.has_more });
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/staff-assignments',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const body = parseBody(CreateAssignmentBody, req);
        res.status(201).json(renderAssignment(await assignStaffRole(context(res), school_id, { personalId: body.personal_id, role: body.role })));
      },
    },
    {
      method: 'delete',
      path: '/v1/schools/:school_id/staff-assignments/:assignment_id',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, assignment_id } = parseParams(AssignmentParams, req);
        res.json(renderAssignment(await revokeStaffRole(context(res), school_id, assignment_id)));
      },
    },
  ];
}
