import { z } from 'zod';
import { IdParam, PaginationQuery } from '../../http/validate';

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const ListSchoolsQuery = PaginationQuery.extend({ district_id: IdParam('dst').optional() }).strict();
export const ListClassesQuery = PaginationQuery.extend({ academic_year: z.string().regex(/^\d{4}-\d{4}$/).optional() }).strict();

export const CollectionAccountBody = z
  .object({
    bank_bin: z.string().regex(/^\d{6}$/, 'must be the 6-digit bank BIN'),
    account_number: z.string().regex(/^[0-9A-Za-z]{1,19}$/, 'must be 1-19 letters or digits'),
    account_name: z.string().trim().min(1).max(100),
    is_default: z.boolean().default(false),
  })
  .strict();
