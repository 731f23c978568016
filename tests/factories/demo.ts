import type { Knex } from 'knex';
import type { Clock } from '../../src/lib/clock';
import { loadPrincipal } from '../../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, type PeriodRequest, startInvoiceRun } from '../../src/modules/invoices/invoices.service';
import { DEMO_ACCOUNTANTS, DEMO_FINANCE_OFFICERS, DEMO_SCHOOL_ADMINS, DEMO_SCHOOLS } from '../../seeds/demo-data';

/** Handles on the seeded demo data: schools by code with their admin, accountant and classes. */
export async function demoSchool(db: Knex, index: number) {
  const school = DEMO_SCHOOLS[index]!;
  const row = await db('schools').where({ code: school.code }).first<{ id: string; district_id: string }>('id', 'district_id');
  const classes = await db('classes').where({ school_id: row.id }).orderBy(['grade', 'name']).select<{ id: string; name: string; grade: number }[]>('id', 'name', 'grade');
  return {
    id: row.id,
    districtId: row.district_id,
    code: school.code,
    district: school.district,
    admin: DEMO_SCHOOL_ADMINS[index]!.personalId,
    accountant: DEMO_ACCOUNTANTS[index]!.personalId,
    classes,
  };
}

export const financeOfficer = (district: 'Q12' | 'GV' | 'NB' | null) => DEMO_FINANCE_OFFICERS.find((f) => f.district === district)!.person.personalId;

export async function countRows(db: Knex, table: string): Promise<number> {
  const [row] = await db(table).count<{ count: string }[]>('* as count');
  return Number(row!.count);
}

/** Bills a period for a school as its accountant: the run started, executed and its drafts issued. Returns the run id. */
export async function billPeriod(app: { db: Knex; clock: Clock }, schoolId: string, accountant: string, period: PeriodRequest): Promise<string> {
  const ctx = { db: app.db, clock: app.clock, principal: await loadPrincipal(app.db, accountant) };
  const run = await startInvoiceRun(ctx, schoolId, period);
  await executeInvoiceRun(app.db, app.clock, schoolId, run.id);
  await issueRunInvoices(ctx, schoolId, run.id);
  return run.id;
}
