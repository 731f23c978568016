import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import { principalOf } from '../../http/auth';
import { ValidationError } from '../../http/errors';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { ClassParams, CreateStudentBody, ImportRosterQuery, ListStudentsQuery, SchoolParams, StudentParams } from './students.schemas';
import { createStudent, getStudentByPersonalId, importRoster, listClassStudents, type StudentContext, type StudentEnrollmentRow } from './students.service';

function renderEnrollment(e: StudentEnrollmentRow) {
  return {
    id: e.enrollment_id,
    school_id: e.school_id,
    class_id: e.class_id,
    class_name: e.class_name,
    grade: e.grade,
    academic_year: e.academic_year,
    enrolled_on: e.enrolled_on,
    left_on: e.left_on,
  };
}

/** A student as school staff see them: full personal ID (their school's own record) and enrollments. */
export function renderStudent(rows: StudentEnrollmentRow[]) {
  const first = rows[0]!;
  return {
    id: first.person_id,
    personal_id: first.personal_id,
    full_name: first.full_name,
    date_of_birth: first.date_of_birth,
    gender: first.gender,
    enrollments: rows.map(renderEnrollment),
  };
}

export function studentRoutes(deps: { db: Knex; clock: Clock }): RouteDef[] {
  const context = (req: Request, res: Response): StudentContext => ({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string });

  return [
    {
      method: 'post',
      path: '/v1/schools/:school_id/students',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const body = parseBody(CreateStudentBody, req);
        const { student } = await createStudent(context(req, res), school_id, {
          personalId: body.personal_id,
          fullName: body.full_name,
          dateOfBirth: body.date_of_birth,
          gender: body.gender,
          classId: body.class_id,
          enrolledOn: body.enrolled_on,
        });
        res.status(201).json(renderStudent([student]));
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/classes/:class_id/roster-imports',
      auth: 'user',
      idempotent: true,
      body: 'csv',
      handler: async (req, res) => {
        const { school_id, class_id } = parseParams(ClassParams, req);
        const query = parseQuery(ImportRosterQuery, req);
        if (typeof req.body !== 'string') throw new ValidationError('CSV_REQUIRED', 'Send the roster as text/csv.', { param: 'body' });
        res.json(await importRoster(context(req, res), school_id, class_id, req.body, query.enrolled_on));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/classes/:class_id/students',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, class_id } = parseParams(ClassParams, req);
        const query = parseQuery(ListStudentsQuery, req);
        const page = await listClassStudents(context(req, res), school_id, class_id, { limit: query.limit, startingAfter: query.starting_after });
        res.json({ data: page.data.map((row) => renderStudent([row])), has_more: page.has_more });
      },
    },
    {
      method: 'get',
      path: '/v1/students/:personal_id',
      auth: 'user',
      handler: async (req, res) => {
        const { personal_id } = parseParams(StudentParams, req);
        res.json(renderStudent(await getStudentByPersonalId(context(req, res), personal_id)));
      },
    },
  ];
}
