/**
 * The finance reports as files: canonical JSON, CSV, XLSX and PDF, all in Vietnamese. Rendering
 * is a pure function of the report: the same report gives the same bytes in every format (no
 * clock, no random ids; file dates come from `generated_at`), which is what lets a closed month's
 * snapshot be re-downloaded byte for byte.
 */
import type { AgeingReport, DefaultersReport, MonthlyRevenueReport } from '../reports.types';
import { canonicalJson } from './canonical-json';
import { renderCsv } from './report-csv';
import { renderAgeingPdf, renderDefaultersPdf, renderRevenuePdf } from './report-pdf';
import { ageingSections, defaultersSections, revenueSections, type Section } from './report-sections';
import { renderXlsx } from './report-xlsx';
import { formatDay, formatMonth, scopeLabel, unitName } from './vi-format';

export { canonicalJson } from './canonical-json';

export type ReportKind = 'revenue' | 'ageing' | 'defaulters';
export type ReportFormat = 'json' | 'csv' | 'xlsx' | 'pdf';
export interface RenderedReport {
  contentType: string;
  fileExtension: string;
  body: Buffer;
}

type AnyReport = MonthlyRevenueReport | AgeingReport | DefaultersReport;

const CONTENT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
};

/** Renders `report` (of the given kind) in `format`. */
export async function renderReport(kind: ReportKind, report: AnyReport, format: ReportFormat): Promise<RenderedReport> {
  const typed = asKind(kind, report);
  return { contentType: CONTENT_TYPES[format], fileExtension: format, body: await renderBody(typed, format) };
}

type Typed = { kind: 'revenue'; report: MonthlyRevenueReport } | { kind: 'ageing'; report: AgeingReport } | { kind: 'defaulters'; report: DefaultersReport };

async function renderBody(typed: Typed, format: ReportFormat): Promise<Buffer> {
  if (format === 'json') return canonicalJson(typed.report);
  const sections = sectionsOf(typed);
  if (format === 'csv') return renderCsv(sections);
  if (format === 'xlsx') return renderXlsx(sections, { title: titleOf(typed), generatedAt: typed.report.generated_at, author: unitName(typed.report.scope) });
  switch (typed.kind) {
    case 'revenue':
      return renderRevenuePdf(typed.report, sections);
    case 'ageing':
      return renderAgeingPdf(typed.report, sections);
    case 'defaulters':
      return renderDefaultersPdf(typed.report, sections);
  }
}

function sectionsOf(typed: Typed): Section[] {
  switch (typed.kind) {
    case 'revenue':
      return revenueSections(typed.report);
    case 'ageing':
      return ageingSections(typed.report);
    case 'defaulters':
      return defaultersSections(typed.report);
  }
}

function titleOf(typed: Typed): string {
  const scope = scopeLabel(typed.report.scope);
  switch (typed.kind) {
    case 'revenue':
      return `Báo cáo thu học phí tháng ${formatMonth(typed.report.month)} – ${scope}`;
    case 'ageing':
      return `Báo cáo tuổi nợ phải thu đến ngày ${formatDay(typed.report.as_of)} – ${scope}`;
    case 'defaulters':
      return `Danh sách học sinh còn nợ đến ngày ${formatDay(typed.report.as_of)} – ${scope}`;
  }
}

/** The caller names the kind; a report of another shape is a programming error, not bad input. */
function asKind(kind: ReportKind, report: AnyReport): Typed {
  const has = (key: string) => Object.prototype.hasOwnProperty.call(report, key);
  if (kind === 'revenue' && has('month') && has('fee_items')) return { kind, report: report as MonthlyRevenueReport };
  if (kind === 'ageing' && has('as_of') && has('totals')) return { kind, report: report as AgeingReport };
  if (kind === 'defaulters' && has('as_of') && !has('totals')) return { kind, report: report as DefaultersReport };
  throw new TypeError(`renderReport: the report is not a ${kind} report`);
}
