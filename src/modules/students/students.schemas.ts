import { z } from 'zod';
import { isCalendarDate } from '../../lib/clock';
import { IdParam, PaginationQuery } from '../../http/validate';

const CalendarDate = z.string().refine(isCalendarDate, 'must be a date YYYY-MM-DD');

export const PersonalIdString = z.string().regex(/^\d{12}$/, 'must be 12 digits');

export const CreateStudentBody = z
  .object({
    // Checked in full by findStudentProblems (format, province, birth year), which names the problem.
    personal_id: z.string().max(32),
    full_name: z.string().trim().min(1).max(200),
    date_of_birth: CalendarDate,
    gender: z.enum(['male', 'female']),
    class_id: IdParam('cls'),
    enrolled_on: CalendarDate.optional(),
  })
  .strict();
export type CreateStudentBody = z.output<typeof CreateStudentBody>;

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const ClassParams = z.object({ school_id: IdParam('sch'), class_id: IdParam('cls') }).strict();
export const StudentParams = z.object({ personal_id: PersonalIdString }).strict();
export const ListStudentsQuery = PaginationQuery.strict();
export const ImportRosterQuery = z.object({ enrolled_on: CalendarDate.optional() }).strict();
