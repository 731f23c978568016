import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import { NotFoundError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import { type Principal, requireSchoolInScope, whereSchoolInScope } from '../access/access.service';
import * as repo from './schools.repository';

export type { ClassRow, SchoolRow } from './schools.repository';

/** Schools the principal may see: their own as staff, or those in their finance scope. */
export async function listSchoolsInScope(db: Knex, principal: Principal, page: { limit: number; startingAfter?: string; districtId?: string }): Promise<Page<repo.SchoolRow>> {
  const rows = await repo.listSchools(db, (q) => whereSchoolInScope(q, principal), page);
  return toPage(rows, page.limit);
}

export async function getSchool(db: Knex, principal: Principal, schoolId: string): Promise<repo.SchoolRow> {
  await requireSchoolInScope(db, principal, schoolId);
  const school = await repo.findSchool(db, schoolId);
  if (!school) throw new NotFoundError('SCHOOL_NOT_FOUND', 'No such school.', 'school_id');
  return school;
}

export async function listClasses(db: Knex, principal: Principal, schoolId: string, page: { limit: number; startingAfter?: string; academicYear?: string }): Promise<Page<repo.ClassRow>> {
  await requireSchoolInScope(db, principal, schoolId);
  return toPage(await repo.listClasses(db, schoolId, page), page.limit);
}

/** A class of a school the caller may already see; 404 otherwise. */
export async function getClass(db: Db, schoolId: string, classId: string): Promise<repo.ClassRow> {
  const found = await repo.findClass(db, schoolId, classId);
  if (!found) throw new NotFoundError('CLASS_NOT_FOUND', 'No such class at this school.', 'class_id');
  return found;
}
