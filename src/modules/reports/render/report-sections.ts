import {
  AGEING_BUCKETS,
  AGEING_LABELS_VI,
  CHANNEL_LABELS_VI,
  COLLECTION_CHANNELS,
  type AgeingAmounts,
  type AgeingReport,
  type AgeingRow,
  type DefaultersReport,
  type MonthlyRevenueReport,
  type RevenueFigures,
} from '../reports.types';
import { LEVEL_LABELS_VI, formatDay, formatInstant, formatMonth } from './vi-format';

/**
 * A report as format-neutral tables ("sections"): the CSV writes them one after another, the XLSX
 * makes a sheet of each, the PDF draws them (without the columns marked `detail`). Keeping one
 * model means the three formats cannot disagree on a figure or a heading.
 */
export type ColumnKind = 'text' | 'vnd' | 'count';
export type Cell = string | number | null;

export interface Column {
  header: string;
  kind: ColumnKind;
  /** Width in characters (XLSX), and relative width in the PDF. */
  width: number;
  /** Machine-oriented column (ids, per-channel splits): in CSV and XLSX, left out of the PDF. */
  detail?: boolean;
}

export interface Section {
  /** The section's title row in the CSV and its sheet's name in the XLSX (at most 31 characters). */
  title: string;
  columns: Column[];
  rows: Cell[][];
  /** The closing "Tổng cộng" row, or null when the section has none. */
  total: Cell[] | null;
}

/**
 * Figures the reports service may add to the shared shapes (optional there, so hand-built reports
 * need not carry them): credit notes and credit applied in the month, and late events booked in
 * this month for an earlier, closed one. Printed when the report has them.
 */
interface CreditFigures {
  credit_notes_vnd?: number;
  credit_applied_vnd?: number;
}
type RevenueWithExtras = MonthlyRevenueReport & { late_events?: { concerns_month: string; events: number }[] };

export const TOTAL_LABEL = 'Tổng cộng';
export const INFO_TITLE = 'Thông tin báo cáo';

export const REVENUE_TITLES = {
  totals: 'Tổng hợp',
  feeItems: 'Theo khoản thu',
  channels: 'Theo kênh thanh toán',
  receipts: 'Biên lai theo ký hiệu',
  reconciliation: 'Đối soát',
  schools: 'Chi tiết theo trường',
  lateEvents: 'Phát sinh muộn (tháng đã khóa)',
} as const;

/** Labels of the figures in the totals section, in their order there. */
export const FIGURE_LABELS_VI = {
  billed_vnd: 'Phải thu theo hóa đơn (chưa trừ miễn giảm)',
  exempted_vnd: 'Miễn giảm theo chính sách',
  discounted_vnd: 'Giảm trừ',
  net_billed_vnd: 'Phải thu sau miễn giảm',
  collected_vnd: 'Đã thu trong tháng',
  outstanding_vnd: 'Còn phải thu cuối tháng',
  credit_balance_vnd: 'Tiền thừa chưa sử dụng của học sinh',
  refunded_vnd: 'Đã hoàn trả trong tháng',
} as const;

export const CREDIT_LABELS_VI = {
  credit_notes_vnd: 'Điều chỉnh giảm phải thu (chứng từ điều chỉnh)',
  credit_applied_vnd: 'Cấn trừ từ tiền thừa của học sinh',
} as const;
const CREDIT_KEYS = Object.keys(CREDIT_LABELS_VI) as (keyof CreditFigures)[];

export const RECONCILIATION_LABELS_VI = {
  open_exceptions: 'Số chênh lệch đối soát chưa xử lý',
  open_exceptions_vnd: 'Số tiền chênh lệch đối soát chưa xử lý',
} as const;

export const REVENUE_TITLE_PREFIX = 'BÁO CÁO THU HỌC PHÍ THÁNG';
export const AGEING_TITLE_PREFIX = 'BÁO CÁO TUỔI NỢ PHẢI THU ĐẾN NGÀY';
export const DEFAULTERS_TITLE_PREFIX = 'DANH SÁCH HỌC SINH CÒN NỢ ĐẾN NGÀY';

const vnd = (header: string, width = 18, detail = false): Column => ({ header, kind: 'vnd', width, ...(detail ? { detail } : {}) });
const count = (header: string, width = 12, detail = false): Column => ({ header, kind: 'count', width, ...(detail ? { detail } : {}) });
const text = (header: string, width: number, detail = false): Column => ({ header, kind: 'text', width, ...(detail ? { detail } : {}) });

const figureColumns = (detailChannels: boolean, credit: (keyof CreditFigures)[]): Column[] => [
  vnd('Phải thu (chưa trừ miễn giảm)', 18, detailChannels),
  vnd('Miễn giảm', 16, detailChannels),
  vnd('Giảm trừ', 16, detailChannels),
  vnd('Phải thu sau miễn giảm'),
  vnd('Đã thu'),
  ...COLLECTION_CHANNELS.map((c) => vnd(`Đã thu: ${CHANNEL_LABELS_VI[c]}`, 18, true)),
  ...credit.map((k) => vnd(CREDIT_LABELS_VI[k], 18, true)),
];
const figureCells = (f: RevenueFigures & CreditFigures, credit: (keyof CreditFigures)[]): Cell[] => [
  f.billed_vnd,
  f.exempted_vnd,
  f.discounted_vnd,
  f.net_billed_vnd,
  f.collected_vnd,
  ...COLLECTION_CHANNELS.map((c) => f.collected_by_channel_vnd[c]),
  ...credit.map((k) => f[k] ?? null),
];

function infoSection(rows: [string, string][]): Section {
  return { title: INFO_TITLE, columns: [text('Mục', 28), text('Nội dung', 70)], rows, total: null };
}

function scopeInfo(report: { scope: MonthlyRevenueReport['scope']; generated_at: string }): [string, string][] {
  const s = report.scope;
  const rows: [string, string][] = [
    ['Cấp báo cáo', LEVEL_LABELS_VI[s.level]],
    ['Tỉnh, thành phố', s.province_name],
  ];
  if (s.district_name) rows.push(['Quận, huyện', s.district_name]);
  if (s.school_name) rows.push(['Trường', s.school_name]);
  rows.push(['Thời điểm lập', formatInstant(report.generated_at)]);
  return rows;
}

/** The monthly revenue report's sections, in the order the CSV and the workbook list them. */
export function revenueSections(report: RevenueWithExtras): Section[] {
  const t: MonthlyRevenueReport['totals'] & CreditFigures = report.totals;
  // The credit figures get their rows and columns when the report's totals carry them.
  const credit = CREDIT_KEYS.filter((k) => t[k] !== undefined);
  const info: [string, string][] = [['Báo cáo', `Báo cáo thu học phí tháng ${formatMonth(report.month)}`], ['Tháng', formatMonth(report.month)], ...scopeInfo(report)];
  info.push(['Tình trạng', report.closed ? 'Đã khóa sổ' : 'Chưa khóa sổ (số liệu tạm tính)']);
  if (report.snapshot) info.push(['Thời điểm khóa sổ', formatInstant(report.snapshot.closed_at)], ['Mã băm SHA-256 của bản lưu', report.snapshot.sha256]);

  const sections: Section[] = [
    infoSection(info),
    {
      title: REVENUE_TITLES.totals,
      columns: [text('Chỉ tiêu', 44), vnd('Số tiền (đồng)', 20)],
      rows: [
        ...(['billed_vnd', 'exempted_vnd', 'discounted_vnd', 'net_billed_vnd'] as const).map((k): Cell[] => [FIGURE_LABELS_VI[k], t[k]]),
        ...credit.map((k): Cell[] => [CREDIT_LABELS_VI[k], t[k]!]),
        ...(['collected_vnd', 'outstanding_vnd', 'credit_balance_vnd', 'refunded_vnd'] as const).map((k): Cell[] => [FIGURE_LABELS_VI[k], t[k]]),
      ],
      total: null,
    },
    {
      title: REVENUE_TITLES.feeItems,
      columns: [text('Mã khoản thu', 14, true), text('Khoản thu', 34), ...figureColumns(false, credit)],
      rows: report.fee_items.map((f) => [f.fee_item_code, f.fee_item_name, ...figureCells(f, credit)]),
      total: [null, TOTAL_LABEL, ...figureCells(t, credit)],
    },
    {
      title: REVENUE_TITLES.channels,
      columns: [text('Mã kênh', 14, true), text('Kênh thanh toán', 36), vnd('Số tiền đã thu (đồng)', 22)],
      rows: COLLECTION_CHANNELS.map((c) => [c, CHANNEL_LABELS_VI[c], t.collected_by_channel_vnd[c]]),
      total: [null, TOTAL_LABEL, t.collected_vnd],
    },
    {
      title: REVENUE_TITLES.receipts,
      columns: [text('Ký hiệu', 14), count('Số đầu', 12), count('Số cuối', 12), count('Số biên lai đã lập', 18), count('Số biên lai đã hủy', 18), vnd('Số tiền (đồng)', 20)],
      rows: report.receipts.map((r) => [r.series, r.first_number, r.last_number, r.issued_count, r.cancelled_count, r.amount_vnd]),
      total: [TOTAL_LABEL, null, null, sum(report.receipts.map((r) => r.issued_count)), sum(report.receipts.map((r) => r.cancelled_count)), sum(report.receipts.map((r) => r.amount_vnd))],
    },
    {
      title: REVENUE_TITLES.reconciliation,
      columns: [count(RECONCILIATION_LABELS_VI.open_exceptions, 24), vnd(`${RECONCILIATION_LABELS_VI.open_exceptions_vnd} (đồng)`, 30)],
      rows: [[report.reconciliation.open_exceptions, report.reconciliation.open_exceptions_vnd]],
      total: null,
    },
  ];
  if (report.scope.level !== 'school') {
    sections.push({
      title: REVENUE_TITLES.schools,
      columns: [
        text('Mã trường', 16, true),
        text('Tên trường', 36),
        text('Quận, huyện', 18),
        ...figureColumns(true, credit),
        vnd('Còn phải thu cuối tháng'),
        vnd('Tiền thừa chưa sử dụng'),
        vnd('Đã hoàn trả', 16, true),
        count('Số chênh lệch đối soát', 12),
        vnd('Tiền chênh lệch đối soát'),
      ],
      rows: report.schools.map((s) => [s.school_id, s.school_name, s.district_name, ...figureCells(s, credit), s.outstanding_vnd, s.credit_balance_vnd, s.refunded_vnd, s.open_exceptions, s.open_exceptions_vnd]),
      total: [null, TOTAL_LABEL, null, ...figureCells(t, credit), t.outstanding_vnd, t.credit_balance_vnd, t.refunded_vnd, report.reconciliation.open_exceptions, report.reconciliation.open_exceptions_vnd],
    });
  }
  if (report.late_events) {
    sections.push({
      title: REVENUE_TITLES.lateEvents,
      columns: [text('Tháng liên quan', 18), count('Số phát sinh ghi nhận trong tháng này', 24)],
      rows: report.late_events.map((e) => [formatMonth(e.concerns_month), e.events]),
      total: null,
    });
  }
  return sections;
}

export const AGEING_TITLES = {
  totals: 'Tổng hợp tuổi nợ',
  school: 'Theo trường',
  class: 'Theo lớp',
  fee_item: 'Theo khoản thu',
  feeItemBySchool: 'Khoản thu theo trường',
} as const;

const ageingCells = (a: AgeingAmounts): Cell[] => [...AGEING_BUCKETS.map((b) => a[b]), a.total_vnd];
const ageingColumns = (): Column[] => [...AGEING_BUCKETS.map((b) => vnd(AGEING_LABELS_VI[b])), vnd('Tổng nợ')];

function sumAgeing(rows: AgeingAmounts[]): AgeingAmounts {
  const out = { total_vnd: sum(rows.map((r) => r.total_vnd)) } as AgeingAmounts;
  for (const b of AGEING_BUCKETS) out[b] = sum(rows.map((r) => r[b]));
  return out;
}

/** Fee-item rows of several schools added up per fee item code, in the order codes first appear. */
function feeItemsAcrossSchools(rows: AgeingRow[]): { key: string; label: string; amounts: AgeingAmounts }[] {
  const byKey = new Map<string, { label: string; rows: AgeingRow[] }>();
  for (const r of rows) {
    const entry = byKey.get(r.key) ?? { label: r.label, rows: [] };
    entry.rows.push(r);
    byKey.set(r.key, entry);
  }
  return [...byKey].map(([key, e]) => ({ key, label: e.label, amounts: sumAgeing(e.rows) }));
}

/**
 * Ageing: the totals by bucket, then the receivables by school, by class (a school's report), and
 * by fee item (added up across the schools of a district or city, whose per-school split follows in
 * its own section). A section's total row sums its own rows: each covers the same receivables, so
 * each total equals the report's totals when the figures tie out.
 */
export function ageingSections(report: AgeingReport): Section[] {
  const info: [string, string][] = [['Báo cáo', `Báo cáo tuổi nợ phải thu đến ngày ${formatDay(report.as_of)}`], ['Tính đến ngày', formatDay(report.as_of)], ...scopeInfo(report)];
  const of = (group: AgeingRow['group']) => report.rows.filter((r) => r.group === group);
  const schoolNames = new Map(of('school').map((r) => [r.school_id, r.label]));
  const multiSchool = report.scope.level !== 'school';

  const sections: Section[] = [
    infoSection(info),
    {
      title: AGEING_TITLES.totals,
      columns: [text('Nhóm tuổi nợ', 28), vnd('Số tiền (đồng)', 20)],
      rows: AGEING_BUCKETS.map((b) => [AGEING_LABELS_VI[b], report.totals[b]]),
      total: [TOTAL_LABEL, report.totals.total_vnd],
    },
    {
      title: AGEING_TITLES.school,
      columns: [text('Mã trường', 16, true), text('Tên trường', 36), ...ageingColumns()],
      rows: of('school').map((r) => [r.school_id, r.label, ...ageingCells(r)]),
      total: [null, TOTAL_LABEL, ...ageingCells(sumAgeing(of('school')))],
    },
  ];
  if (!multiSchool || of('class').length > 0) {
    sections.push({
      title: AGEING_TITLES.class,
      columns: [text('Mã lớp', 16, true), text('Lớp', 24), text('Mã trường', 16, true), ...(multiSchool ? [text('Tên trường', 30)] : []), ...ageingColumns()],
      rows: of('class').map((r) => [r.key, r.label, r.school_id, ...(multiSchool ? [schoolNames.get(r.school_id) ?? r.school_id] : []), ...ageingCells(r)]),
      total: [null, TOTAL_LABEL, null, ...(multiSchool ? [null] : []), ...ageingCells(sumAgeing(of('class')))],
    });
  }
  const items = feeItemsAcrossSchools(of('fee_item'));
  sections.push({
    title: AGEING_TITLES.fee_item,
    columns: [text('Mã khoản thu', 16, true), text('Khoản thu', 36), ...ageingColumns()],
    rows: items.map((i) => [i.key, i.label, ...ageingCells(i.amounts)]),
    total: [null, TOTAL_LABEL, ...ageingCells(sumAgeing(items.map((i) => i.amounts)))],
  });
  if (multiSchool) {
    sections.push({
      title: AGEING_TITLES.feeItemBySchool,
      columns: [text('Mã trường', 16, true), text('Tên trường', 32), text('Mã khoản thu', 14, true), text('Khoản thu', 28), ...ageingColumns()],
      rows: of('fee_item').map((r) => [r.school_id, schoolNames.get(r.school_id) ?? r.school_id, r.key, r.label, ...ageingCells(r)]),
      total: [null, TOTAL_LABEL, null, null, ...ageingCells(sumAgeing(of('fee_item')))],
    });
  }
  return sections;
}

export const DEFAULTERS_TITLE = 'Danh sách còn nợ';

/** The defaulters: one row per unpaid invoice past due, numbered; the total sums the list. */
export function defaultersSections(report: DefaultersReport): Section[] {
  const info: [string, string][] = [['Báo cáo', `Danh sách học sinh còn nợ đến ngày ${formatDay(report.as_of)}`], ['Tính đến ngày', formatDay(report.as_of)], ...scopeInfo(report), ['Số dòng', String(report.rows.length)]];
  return [
    infoSection(info),
    {
      title: DEFAULTERS_TITLE,
      columns: [
        count('STT', 6),
        text('Họ và tên', 28),
        text('Số định danh cá nhân', 16),
        text('Mã học sinh', 16, true),
        text('Mã trường', 16, true),
        text('Lớp', 8),
        text('Số hóa đơn', 16),
        text('Mã hóa đơn', 16, true),
        text('Hạn nộp', 11),
        count('Số ngày quá hạn', 10),
        vnd('Phải nộp (sau miễn giảm)', 16),
        vnd('Đã nộp', 16),
        vnd('Còn nợ', 16),
      ],
      rows: report.rows.map((r, i) => [i + 1, r.full_name, r.personal_id, r.student_id, r.school_id, r.class_name, r.invoice_number, r.invoice_id, formatDay(r.due_on), r.days_past_due, r.net_vnd, r.paid_vnd, r.outstanding_vnd]),
      total: [null, TOTAL_LABEL, null, null, null, null, null, null, null, null, sum(report.rows.map((r) => r.net_vnd)), sum(report.rows.map((r) => r.paid_vnd)), sum(report.rows.map((r) => r.outstanding_vnd))],
    },
  ];
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
