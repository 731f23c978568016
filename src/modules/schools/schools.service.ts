import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import { ConflictError, NotFoundError, UnprocessableError } from '../../http/errors';
import { BANKS } from '../../lib/banks';
import { isUniqueViolation } from '../../lib/pg-errors';
import { recordAuditEvent } from '../audit/audit.service';
import { toPage, type Page } from '../../http/validate';
import { type Principal, requireSchoolInScope, requireSchoolRole, whereSchoolInScope } from '../access/access.service';
import * as repo from './schools.repository';

export type { ClassRow, CollectionAccountRow, SchoolRow } from './schools.repository';

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

/** The accounts a school collects into; staff and finance officers in scope may see them. */
export async function listCollectionAccounts(db: Knex, principal: Principal, schoolId: string): Promise<repo.CollectionAccountRow[]> {
  await requireSchoolInScope(db, principal, schoolId);
  return repo.listCollectionAccounts(db, schoolId);
}

/** The account VietQR codes point at, if the school has set one. */
export function findDefaultCollectionAccount(db: Db, schoolId: string) {
  return repo.findDefaultCollectionAccount(db, schoolId);
}

/** A school admin registers a collection account; the bank must be a known VietQR bank. */
export async function addCollectionAccount(
  db: Knex,
  principal: Principal,
  schoolId: string,
  input: { bankBin: string; accountNumber: string; accountName: string; isDefault: boolean },
  at: Date,
): Promise<repo.CollectionAccountRow> {
  await requireSchoolRole(db, principal, schoolId, ['school_admin']);
  if (!BANKS.has(input.bankBin)) throw new UnprocessableError('BANK_UNKNOWN', 'No VietQR bank has this BIN.', 'bank_bin');
  return db.transaction(async (trx) => {
    // The first account is the default whatever the caller said: QR codes need one.
    const isDefault = input.isDefault || !(await repo.findDefaultCollectionAccount(trx, schoolId));
    try {
      const row = await repo.insertCollectionAccount(trx, { school_id: schoolId, bank_bin: input.bankBin, account_number: input.accountNumber, account_name: input.accountName, is_default: isDefault });
      await recordAuditEvent(trx, { schoolId, actorPersonId: principal.personId, action: 'collection_account.added', subjectType: 'collection_account', subjectId: row.id, at });
      return row;
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('COLLECTION_ACCOUNT_EXISTS', 'This account is already registered for the school.', { param: 'account_number' });
      throw e;
    }
  });
}
