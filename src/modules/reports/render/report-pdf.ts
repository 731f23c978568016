import {
  AGEING_BUCKETS,
  AGEING_LABELS_VI,
  CHANNEL_LABELS_VI,
  COLLECTION_CHANNELS,
  type AgeingReport,
  type DefaultersReport,
  type MonthlyRevenueReport,
  type ReportScope,
} from '../reports.types';
import { ReportPdf } from './pdf-layout';
import {
  AGEING_TITLES,
  AGEING_TITLE_PREFIX,
  DEFAULTERS_TITLE,
  DEFAULTERS_TITLE_PREFIX,
  REVENUE_TITLES,
  REVENUE_TITLE_PREFIX,
  type Section,
} from './report-sections';
import { formatDay, formatInstant, formatMonth, scopeLabel, unitName } from './vi-format';

/** The fee-item chart shows the largest items; the rest share one bar, so the chart stays legible. */
const MAX_FEE_ITEM_BARS = 12;
const AMOUNT_UNIT_NOTE = 'Đơn vị tính: đồng';

/** The monthly revenue report: header, totals, the collection charts, then each section's table. */
export function renderRevenuePdf(report: MonthlyRevenueReport, sections: Section[]): Promise<Buffer> {
  const month = formatMonth(report.month);
  const pdf = new ReportPdf({ title: `Báo cáo thu học phí tháng ${month}`, subject: scopeLabel(report.scope), author: unitName(report.scope), generatedAt: report.generated_at });
  const status = report.snapshot
    ? [`Số liệu đã khóa sổ lúc ${formatInstant(report.snapshot.closed_at)}.`, `Mã băm SHA-256 của bản lưu: ${report.snapshot.sha256}`]
    : [report.closed ? 'Số liệu đã khóa sổ.' : 'Số liệu tạm tính: tháng chưa khóa sổ.'];
  pdf.header(report.scope, `${REVENUE_TITLE_PREFIX} ${month}`, [`Phạm vi: ${scopeLabel(report.scope)}`, ...status]);

  pdf.heading(REVENUE_TITLES.totals);
  pdf.table(section(sections, REVENUE_TITLES.totals), { width: 440, withCurrency: true });

  pdf.heading('Biểu đồ số tiền đã thu', 140);
  pdf.barCharts([
    { title: 'Theo khoản thu', bars: feeItemBars(report) },
    { title: 'Theo kênh thanh toán', bars: COLLECTION_CHANNELS.map((c) => ({ label: CHANNEL_LABELS_VI[c], value: report.totals.collected_by_channel_vnd[c] })) },
  ]);

  pdf.heading(REVENUE_TITLES.feeItems);
  pdf.note(AMOUNT_UNIT_NOTE);
  pdf.table(section(sections, REVENUE_TITLES.feeItems));
  pdf.heading(REVENUE_TITLES.channels);
  pdf.table(section(sections, REVENUE_TITLES.channels), { width: 440, withCurrency: true });
  pdf.heading(REVENUE_TITLES.receipts);
  pdf.table(section(sections, REVENUE_TITLES.receipts), { width: 600, withCurrency: true });
  pdf.heading(REVENUE_TITLES.reconciliation);
  pdf.table(section(sections, REVENUE_TITLES.reconciliation), { width: 440, withCurrency: true });
  const lateEvents = sections.find((s) => s.title === REVENUE_TITLES.lateEvents);
  if (lateEvents) {
    pdf.heading(REVENUE_TITLES.lateEvents);
    pdf.table(lateEvents, { width: 440 });
  }
  if (report.scope.level !== 'school') {
    pdf.heading(REVENUE_TITLES.schools);
    pdf.note(AMOUNT_UNIT_NOTE);
    pdf.table(section(sections, REVENUE_TITLES.schools), { fontSize: 7.5 });
  }
  pdf.signatures(signers(report.scope));
  return pdf.finish();
}

/** Ageing: the totals by bucket with their chart, then the tables by school, class and fee item. */
export function renderAgeingPdf(report: AgeingReport, sections: Section[]): Promise<Buffer> {
  const day = formatDay(report.as_of);
  const pdf = new ReportPdf({ title: `Báo cáo tuổi nợ phải thu đến ngày ${day}`, subject: scopeLabel(report.scope), author: unitName(report.scope), generatedAt: report.generated_at });
  pdf.header(report.scope, `${AGEING_TITLE_PREFIX} ${day}`, [`Phạm vi: ${scopeLabel(report.scope)}`]);
  pdf.heading(AGEING_TITLES.totals);
  pdf.table(section(sections, AGEING_TITLES.totals), { width: 440, withCurrency: true });
  pdf.heading('Biểu đồ nợ phải thu theo tuổi nợ', 110);
  pdf.barCharts([{ title: 'Số tiền còn phải thu', bars: AGEING_BUCKETS.map((b) => ({ label: AGEING_LABELS_VI[b], value: report.totals[b] })) }]);
  // The per-school split of the fee items (a district's or city's) is for the spreadsheets: in
  // print, the fee items added up across schools say the same in a page.
  for (const title of [AGEING_TITLES.school, AGEING_TITLES.class, AGEING_TITLES.fee_item]) {
    const table = sections.find((s) => s.title === title);
    if (!table) continue;
    pdf.heading(title);
    pdf.note(AMOUNT_UNIT_NOTE);
    pdf.table(table);
  }
  if (report.scope.level !== 'school') pdf.note('Chi tiết khoản thu theo từng trường có trong tệp CSV và XLSX của báo cáo này.', 'left');
  pdf.signatures(signers(report.scope));
  return pdf.finish();
}

/** The defaulters list: one table, numbered, with its total. */
export function renderDefaultersPdf(report: DefaultersReport, sections: Section[]): Promise<Buffer> {
  const day = formatDay(report.as_of);
  const pdf = new ReportPdf({ title: `Danh sách học sinh còn nợ đến ngày ${day}`, subject: scopeLabel(report.scope), author: unitName(report.scope), generatedAt: report.generated_at });
  pdf.header(report.scope, `${DEFAULTERS_TITLE_PREFIX} ${day}`, [`Phạm vi: ${scopeLabel(report.scope)}`, `Số hóa đơn quá hạn còn nợ: ${report.rows.length}`]);
  pdf.heading(DEFAULTERS_TITLE);
  pdf.note(AMOUNT_UNIT_NOTE);
  pdf.table(section(sections, DEFAULTERS_TITLE), { fontSize: 7.5 });
  pdf.signatures(signers(report.scope));
  return pdf.finish();
}

function feeItemBars(report: MonthlyRevenueReport): { label: string; value: number }[] {
  const bars = report.fee_items.map((f) => ({ label: f.fee_item_name, value: f.collected_vnd })).sort((a, b) => b.value - a.value);
  if (bars.length <= MAX_FEE_ITEM_BARS) return bars;
  const rest = bars.slice(MAX_FEE_ITEM_BARS - 1);
  return [...bars.slice(0, MAX_FEE_ITEM_BARS - 1), { label: `Các khoản thu khác (${rest.length})`, value: rest.reduce((s, b) => s + b.value, 0) }];
}

function section(sections: Section[], title: string): Section {
  const found = sections.find((s) => s.title === title);
  if (!found) throw new Error(`report section missing: ${title}`);
  return found;
}

function signers(scope: ReportScope): string[] {
  const head = { school: 'HIỆU TRƯỞNG', district: 'TRƯỞNG PHÒNG', city: 'GIÁM ĐỐC' }[scope.level];
  return ['NGƯỜI LẬP BIỂU', 'KẾ TOÁN', head];
}
