import { z } from 'zod';
import { IdParam } from '../../http/validate';
import { isCalendarDate } from '../../lib/clock';

export const Month = z.string().regex(/^(19|2\d)\d{2}-(0[1-9]|1[0-2])$/, 'must be a month YYYY-MM');
export const ReportFormat = z.enum(['json', 'csv', 'xlsx', 'pdf']);

export const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
export const DistrictParams = z.object({ district_code: z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'must be a district code') }).strict();
export const CityParams = z.object({ city_code: z.string().regex(/^[A-Za-z0-9_-]{1,20}$/, 'must be a city code') }).strict();
export const CloseParams = z.object({ school_id: IdParam('sch'), month: Month }).strict();

export const RevenueQuery = z.object({ month: Month, format: ReportFormat.default('json') }).strict();
export const AsOfQuery = z.object({ as_of: z.string().refine(isCalendarDate, 'must be a date YYYY-MM-DD').optional(), format: ReportFormat.default('json') }).strict();

export const CloseMonthBody = z.object({ override_reason: z.string().trim().min(3).max(500).optional() }).strict();
