import { UnprocessableError } from '../../../http/errors';
import type { AgeingReport, DefaultersReport, MonthlyRevenueReport } from '../reports.types';

/**
 * PLACEHOLDER, replaced at merge by the renderers of the `render` branch (issue 8): only JSON is
 * rendered here; CSV, XLSX and PDF answer 422 FORMAT_NOT_AVAILABLE. The reports routes call exactly
 * this signature (`reports.routes.ts`, `sendReport`).
 */
export type ReportKind = 'revenue' | 'ageing' | 'defaulters';
export type ReportFormat = 'json' | 'csv' | 'xlsx' | 'pdf';
export interface RenderedReport {
  contentType: string;
  body: Buffer;
}

export async function renderReport(kind: ReportKind, report: MonthlyRevenueReport | AgeingReport | DefaultersReport, format: ReportFormat): Promise<RenderedReport> {
  if (format === 'json') return { contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify(report)) };
  throw new UnprocessableError('FORMAT_NOT_AVAILABLE', `The ${kind} report cannot be rendered as ${format} in this build.`, 'format');
}
