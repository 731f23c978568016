import { z } from 'zod';
import { IdParam, PaginationQuery } from '../../http/validate';

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const AssignmentParams = z.object({ school_id: IdParam('sch'), assignment_id: IdParam('stf') }).strict();
export const ListAssignmentsQuery = PaginationQuery.extend({ include_revoked: z.enum(['true', 'false']).default('false').transform((v) => v === 'true') }).strict();
export const CreateAssignmentBody = z
  .object({
    personal_id: z.string().regex(/^\d{12}$/, 'must be 12 digits'),
    role: z.enum(['accountant', 'school_admin']),
  })
  .strict();
