import { z } from 'zod';
import { IdParam } from '../../http/validate';
import { isCalendarDate } from '../../lib/clock';
import { AmountVnd } from '../fees/fees.schemas';

const CalendarDate = z.string().refine(isCalendarDate, 'must be a date YYYY-MM-DD');

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const ExceptionParams = z.object({ school_id: IdParam('sch'), exception_id: IdParam('rec') }).strict();
export const StatementUploadQuery = z
  .object({ collection_account_id: IdParam('acct'), format: z.enum(['camt053', 'csv', 'vietcombank_csv']), file_name: z.string().max(200).optional() })
  .strict();
export const ExceptionListQuery = z
  .object({ status: z.enum(['open', 'resolved']).default('open'), limit: z.coerce.number().int().min(1).max(100).default(50), starting_after: IdParam('rec').optional() })
  .strict();
export const ReportQuery = z.object({ collection_account_id: IdParam('acct'), date: CalendarDate }).strict();

const Note = z.string().trim().min(3).max(500);
export const ResolveBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('attach'), invoice_id: IdParam('inv').optional(), student_id: IdParam('per').optional(), amount_vnd: AmountVnd.min(1).optional(), note: Note.optional() })
    .strict()
    .refine((b) => (b.invoice_id === undefined) !== (b.student_id === undefined), { message: 'name exactly one of invoice_id and student_id', path: ['invoice_id'] }),
  z.object({ action: z.literal('refund'), note: Note.optional() }).strict(),
  z.object({ action: z.literal('bank_error'), note: Note }).strict(),
  z.object({ action: z.literal('dismiss'), note: Note }).strict(),
]);
export type ResolveBody = z.infer<typeof ResolveBody>;
