import { z } from 'zod';
import { IdParam, PaginationQuery } from '../../http/validate';
import { CalendarDate } from '../fees/fees.schemas';

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const RunParams = z.object({ school_id: IdParam('sch'), run_id: IdParam('run') }).strict();
export const InvoiceParams = z.object({ invoice_id: IdParam('inv') }).strict();
export const StatementParams = z.object({ school_id: IdParam('sch'), student_id: IdParam('per') }).strict();
export const PayParams = z.object({ token: z.string().max(100) }).strict();

export const StartRunBody = z.discriminatedUnion('period', [
  z.object({ period: z.literal('month'), month: z.string().regex(/^(19|2\d)\d{2}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM'), due_on: CalendarDate.optional() }).strict(),
  z.object({ period: z.literal('term'), label: z.string().trim().min(1).max(40), start: CalendarDate, end: CalendarDate, due_on: CalendarDate.optional() }).strict(),
  z.object({ period: z.literal('year'), academic_year: z.string().regex(/^\d{4}-\d{4}$/), due_on: CalendarDate.optional() }).strict(),
]);

export const ListInvoicesQuery = PaginationQuery.extend({
  status: z.enum(['draft', 'open', 'partially_paid', 'paid', 'void']).optional(),
  class_id: IdParam('cls').optional(),
  student_id: IdParam('per').optional(),
  run_id: IdParam('run').optional(),
}).strict();

export const VoidBody = z.object({ reason: z.string().trim().min(3).max(500) }).strict();
