import { z } from 'zod';
import { IdParam, PaginationQuery } from '../../http/validate';

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const ListSchoolsQuery = PaginationQuery.extend({ district_id: IdParam('dst').optional() }).strict();
export const ListClassesQuery = PaginationQuery.extend({ academic_year: z.string().regex(/^\d{4}-\d{4}$/).optional() }).strict();
