import type { AgeingReport, DefaultersReport, MonthlyRevenueReport } from '../reports.types';

/**
 * PLACEHOLDER, replaced at merge by the renderers of the `render` branch (issue 8): only JSON is
 * rendered here; CSV, XLSX and PDF throw. The reports service calls exactly this signature.
 */
export type ReportKind = 'revenue' | 'ageing' | 'defaulters';
export type ReportFormat = 'json' | 'csv' | 'xlsx' | 'pdf';
export interface RenderedReport {
  contentType: string;
  body: Buffer;
}

export async function renderReport(kind: ReportKind, report: MonthlyRevenueReport | AgeingReport | DefaultersReport, format: ReportFormat): Promise<RenderedReport> {
  if (format === 'json') return { contentType: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify(report)) };
  throw new Error(`renderReport: ${kind} as ${format} is not built on this branch`);
}
