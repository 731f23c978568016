import { z } from 'zod';
import { IdParam, PaginationQuery } from '../../http/validate';
import { AmountVnd, CalendarDate } from '../fees/fees.schemas';
import { EXEMPTION_PERCENT } from './exemptions.service';

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const ExemptionParams = z.object({ school_id: IdParam('sch'), exemption_id: IdParam('exm') }).strict();

export const ProposeExemptionBody = z
  .object({
    personal_id: z.string().regex(/^\d{12}$/, 'must be 12 digits'),
    category: z.enum(Object.keys(EXEMPTION_PERCENT) as [keyof typeof EXEMPTION_PERCENT, ...(keyof typeof EXEMPTION_PERCENT)[]]),
    percent: z.number().int().min(1).max(100),
    valid_from: CalendarDate,
    valid_to: CalendarDate,
    evidence_ref: z.string().trim().min(1).max(200),
  })
  .strict();

export const DecisionBody = z.object({ note: z.string().trim().min(1).max(500).optional() }).strict();
export const ListExemptionsQuery = PaginationQuery.extend({ status: z.enum(['proposed', 'approved', 'rejected']).optional() }).strict();
export const ListQuery = PaginationQuery.strict();

export const DiscountBody = z
  .object({
    personal_id: z.string().regex(/^\d{12}$/, 'must be 12 digits'),
    fee_item_id: IdParam('fee'),
    percent: z.number().gt(0).max(100).multipleOf(0.01).optional(),
    amount_vnd: AmountVnd.min(1).optional(),
    reason_code: z.string().regex(/^[A-Z0-9_]{2,40}$/, 'must be 2-40 of A-Z, 0-9, _'),
    valid_from: CalendarDate,
    valid_to: CalendarDate,
  })
  .strict()
  .refine((d) => (d.percent === undefined) !== (d.amount_vnd === undefined), { message: 'give either percent or amount_vnd', path: ['percent'] });

export const SiblingRuleBody = z
  .object({
    fee_item_id: IdParam('fee'),
    from_child: z.number().int().min(2).max(10),
    percent: z.number().gt(0).max(100).multipleOf(0.01),
    reason_code: z.string().regex(/^[A-Z0-9_]{2,40}$/, 'must be 2-40 of A-Z, 0-9, _'),
    valid_from: CalendarDate,
    valid_to: CalendarDate.optional(),
  })
  .strict();
