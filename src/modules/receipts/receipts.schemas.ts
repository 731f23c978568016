import { z } from 'zod';
import { IdParam, PaginationQuery } from '../../http/validate';
import { CalendarDate } from '../fees/fees.schemas';

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const SeriesParams = z.object({ school_id: IdParam('sch'), series_id: IdParam('rser') }).strict();
export const ReceiptParams = z.object({ school_id: IdParam('sch'), receipt_id: IdParam('rct') }).strict();
// Any string up to 100: a malformed code gets the same 404 as an unknown one (the service checks the shape).
export const LookupParams = z.object({ lookup_code: z.string().max(100) }).strict();

/** The symbol and template are checked by the service, which answers with their own stable codes. */
export const SeriesBody = z
  .object({
    template_code: z.string().max(20),
    symbol: z.string().max(20),
    title: z.string().trim().min(1).max(200),
    valid_from: CalendarDate,
    valid_to: CalendarDate.nullable().optional(),
  })
  .strict();

export const SeriesPatchBody = z
  .object({
    title: z.string().trim().min(1).max(200).optional(),
    valid_to: CalendarDate.nullable().optional(),
  })
  .strict();

export const ReceiptListQuery = PaginationQuery.extend({
  tax_status: z.enum(['pending', 'accepted', 'rejected']).optional(),
  status: z.enum(['issued', 'cancelled']).optional(),
}).strict();

const Reason = z.string().trim().min(3).max(500);
export const CancelBody = z.object({ reason: Reason }).strict();
export const ReplaceBody = z.object({ reason: Reason, payer_name: z.string().trim().min(1).max(200).optional() }).strict();
export const AdjustBody = z
  .object({
    amount_vnd: z.number().int('must be a whole number of dong').min(-100_000_000_000).max(100_000_000_000).refine((n) => n !== 0, 'must not be zero'),
    description: z.string().trim().min(1).max(200),
    reason: Reason,
  })
  .strict();

export const UsageQuery = z.object({ from: CalendarDate, to: CalendarDate }).strict();
