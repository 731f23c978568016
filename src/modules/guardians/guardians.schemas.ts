import { z } from 'zod';
import { IdParam, PaginationQuery } from '../../http/validate';
import { PersonalIdString } from '../students/students.schemas';

const CalendarDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD');
const Reason = z.string().trim().min(3).max(500);

export const LinkRequestBody = z.object({ student_personal_id: PersonalIdString, student_date_of_birth: CalendarDate }).strict();
export const LinkParams = z.object({ link_id: IdParam('gdl') }).strict();
export const SchoolLinkParams = z.object({ school_id: IdParam('sch'), link_id: IdParam('gdl') }).strict();
export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const SchoolLinksQuery = PaginationQuery.extend({ status: z.enum(['pending', 'verified', 'rejected', 'revoked']).optional() }).strict();
export const ConfirmLinkBody = z
  .object({
    chip_read_id: IdParam('chr'),
    relation: z.enum(['father', 'mother', 'legal_guardian']),
    document_note: z.string().trim().min(3).max(500),
  })
  .strict();
export const ReasonBody = z.object({ reason: Reason }).strict();
export const StudentParams = z.object({ student_id: IdParam('per') }).strict();

export const CardReaderBody = z.object({ name: z.string().trim().min(1).max(100), public_key: z.string().min(40).max(2000) }).strict();
export const ChipReadBody = z
  .object({
    reader_id: IdParam('rdr'),
    /** The reader's result, base64 of the JSON it signed. */
    payload: z.string().min(10).max(8000).regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'must be base64'),
    /** Ed25519 signature over the payload's bytes, base64. */
    signature: z.string().min(10).max(200).regex(/^[A-Za-z0-9+/_-]+={0,2}$/, 'must be base64'),
  })
  .strict();

/** What a reader signs: the chip's identity fields, never its images. */
export const ChipReadPayload = z
  .object({
    reader_id: z.string(),
    personal_id: PersonalIdString,
    full_name: z.string().trim().min(1).max(200),
    date_of_birth: CalendarDate,
    father_name: z.string().trim().min(1).max(200).optional(),
    mother_name: z.string().trim().min(1).max(200).optional(),
    read_at: z.iso.datetime({ offset: true }),
    nonce: z.string().min(8).max(100),
  })
  .strict();
export type ChipReadPayload = z.output<typeof ChipReadPayload>;
