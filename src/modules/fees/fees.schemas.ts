import { z } from 'zod';
import { isCalendarDate } from '../../lib/clock';
import { IdParam, PaginationQuery } from '../../http/validate';

export const CalendarDate = z.string().refine(isCalendarDate, 'must be a date YYYY-MM-DD');
/**
 * Money in a request: a non-negative integer number of dong, never a string or a fraction. Capped
 * at 100 billion dong, far above any school fee, so products (days x price) stay exact integers.
 */
export const MAX_AMOUNT_VND = 100_000_000_000;
export const AmountVnd = z.number().int('must be a whole number of dong').min(0).max(MAX_AMOUNT_VND);

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const PlanParams = z.object({ school_id: IdParam('sch'), plan_id: IdParam('plan') }).strict();
export const VersionParams = z.object({ school_id: IdParam('sch'), plan_id: IdParam('plan'), version_id: IdParam('planv') }).strict();
export const MonthParams = z.object({ school_id: IdParam('sch'), month: z.string().regex(/^(19|2\d)\d{2}-(0[1-9]|1[0-2])$/, 'must be YYYY-MM') }).strict();
export const ListQuery = PaginationQuery.strict();

export const FeeItemBody = z
  .object({
    code: z.string().regex(/^[A-Z0-9_]{2,40}$/, 'must be 2-40 of A-Z, 0-9, _'),
    name: z.string().trim().min(1).max(200),
    unit: z.enum(['month', 'school_day', 'term', 'year', 'one_off']),
    document_kind: z.enum(['receipt', 'e_invoice', 'none']),
    exemptible: z.boolean(),
    optional: z.boolean(),
    revenue_code: z.string().trim().min(1).max(40),
  })
  .strict();

const PlanItems = z
  .array(z.object({ fee_item_id: IdParam('fee'), amount_vnd: AmountVnd }).strict())
  .min(1)
  .max(100)
  .refine((items) => new Set(items.map((i) => i.fee_item_id)).size === items.length, 'each fee item at most once');

export const FeePlanBody = z
  .object({
    academic_year: z.string().regex(/^\d{4}-\d{4}$/),
    grade: z.number().int().min(1).max(12),
    class_id: IdParam('cls').optional(),
    name: z.string().trim().min(1).max(200),
    effective_from: CalendarDate,
    items: PlanItems,
  })
  .strict();

export const PlanVersionBody = z.object({ effective_from: CalendarDate, items: PlanItems }).strict();
export const PlanItemsBody = z.object({ items: PlanItems }).strict();

export const CalendarBody = z
  .object({ school_days: z.array(CalendarDate).max(31).refine((d) => new Set(d).size === d.length, 'each day at most once') })
  .strict();

export const OptionalEnrollmentBody = z
  .object({
    personal_id: z.string().regex(/^\d{12}$/, 'must be 12 digits'),
    fee_item_id: IdParam('fee'),
    from_on: CalendarDate,
    to_on: CalendarDate.optional(),
  })
  .strict();
