/**
 * The shapes of the finance reports, shared by the service that computes them (from roll-up
 * tables) and the renderers that turn them into CSV, XLSX and PDF. JSON field names are the API's
 * (snake_case); every amount is an integer number of dong (a safe integer in JSON).
 */

/** How money was collected. `statement`: recorded from a bank statement line with no callback. */
export const COLLECTION_CHANNELS = ['bill_payment', 'qr_transfer', 'vnpay', 'manual', 'statement'] as const;
export type CollectionChannel = (typeof COLLECTION_CHANNELS)[number];

/** Vietnamese labels for the channels, as printed in CSV headers, XLSX sheets and the PDF. */
export const CHANNEL_LABELS_VI: Record<CollectionChannel, string> = {
  bill_payment: 'Thanh toán hóa đơn qua ngân hàng',
  qr_transfer: 'Chuyển khoản / VietQR',
  vnpay: 'VNPay',
  manual: 'Ghi nhận thủ công',
  statement: 'Ghi nhận từ sao kê',
};

/** The money figures of one month, for one fee item, one school or a whole scope. */
export interface RevenueFigures {
  /** Gross amount of invoice lines issued in the month (before exemptions and discounts). */
  billed_vnd: number;
  exempted_vnd: number;
  discounted_vnd: number;
  /** billed - exempted - discounted. */
  net_billed_vnd: number;
  /** Payments allocated to invoices in the month, all channels. */
  collected_vnd: number;
  collected_by_channel_vnd: Record<CollectionChannel, number>;
  /**
   * Credit notes issued in the month (they lower receivables after issue; not part of net billed).
   * Always present in the API's reports; optional only so hand-built shapes need not carry it.
   */
  credit_notes_vnd?: number;
  /**
   * Allocations from students' credit in the month (credit applied to invoices, less paid money a
   * credit note moved back to credit). With it the month ties out:
   * outstanding at month end - outstanding at the previous month end
   *   = net_billed - credit_notes - collected - credit_applied.
   */
  credit_applied_vnd?: number;
}

export interface FeeItemRevenue extends RevenueFigures {
  fee_item_code: string;
  fee_item_name: string;
}

/** Balances at the end of the month (at 24:00 Asia/Ho_Chi_Minh of its last day). */
export interface MonthEndBalances {
  /** Receivables: net billed and not yet collected, all months up to this one. */
  outstanding_vnd: number;
  /** Students' unapplied credit (overpayments, credit notes' paid part). */
  credit_balance_vnd: number;
  /** Credit refunded to guardians' bank accounts in the month. */
  refunded_vnd: number;
}

export interface ReceiptSeriesUsage {
  /** The receipt template and series, e.g. "1C26TAA". */
  series: string;
  first_number: number | null;
  last_number: number | null;
  issued_count: number;
  cancelled_count: number;
  /** Amount of the receipts issued in the month and not cancelled. */
  amount_vnd: number;
}

export interface ReconciliationStatus {
  open_exceptions: number;
  open_exceptions_vnd: number;
}

export type ReportLevel = 'school' | 'district' | 'city';

export interface ReportScope {
  level: ReportLevel;
  /** Present for a school report. */
  school_id?: string;
  school_name?: string;
  /** Present for district and school reports. */
  district_code?: string;
  district_name?: string;
  province_code: string;
  province_name: string;
}

/** One school's line in a district or city roll-up. */
export interface SchoolBreakdownRow extends RevenueFigures, MonthEndBalances {
  school_id: string;
  school_name: string;
  district_code: string;
  district_name: string;
  open_exceptions: number;
  open_exceptions_vnd: number;
}

export interface MonthlyRevenueReport {
  /** "YYYY-MM". */
  month: string;
  scope: ReportScope;
  generated_at: string;
  /** Set when the month is closed for every school in scope and the report is a stored snapshot. */
  closed: boolean;
  snapshot: { sha256: string; closed_at: string } | null;
  totals: RevenueFigures & MonthEndBalances;
  fee_items: FeeItemRevenue[];
  receipts: ReceiptSeriesUsage[];
  reconciliation: ReconciliationStatus;
  /** Per-school breakdown; empty for a school report. */
  schools: SchoolBreakdownRow[];
  /**
   * Late events accounted in this month though they concern an earlier, closed month (a callback,
   * a correction, a statement payment dated in it), per month they concern.
   */
  late_events?: { concerns_month: string; events: number }[];
}

export const AGEING_BUCKETS = ['current', 'days_1_30', 'days_31_60', 'days_61_90', 'days_over_90'] as const;
export type AgeingBucket = (typeof AGEING_BUCKETS)[number];

export const AGEING_LABELS_VI: Record<AgeingBucket, string> = {
  current: 'Chưa đến hạn',
  days_1_30: 'Quá hạn 1–30 ngày',
  days_31_60: 'Quá hạn 31–60 ngày',
  days_61_90: 'Quá hạn 61–90 ngày',
  days_over_90: 'Quá hạn trên 90 ngày',
};

export type AgeingAmounts = Record<AgeingBucket, number> & { total_vnd: number };

export interface AgeingRow extends AgeingAmounts {
  /** What the row groups by: a school, a class in it, or a fee item. */
  group: 'school' | 'class' | 'fee_item';
  key: string;
  label: string;
  school_id: string;
}

export interface AgeingReport {
  /** The day ageing is computed at ("YYYY-MM-DD"). */
  as_of: string;
  scope: ReportScope;
  generated_at: string;
  totals: AgeingAmounts;
  rows: AgeingRow[];
}

export interface DefaulterRow {
  student_id: string;
  /** Masked unless the caller may see it unmasked (staff of the student's school). */
  personal_id: string;
  full_name: string;
  school_id: string;
  class_name: string | null;
  invoice_id: string;
  invoice_number: string;
  due_on: string;
  days_past_due: number;
  /** Net of approved exemptions and discounts. */
  net_vnd: number;
  paid_vnd: number;
  outstanding_vnd: number;
}

export interface DefaultersReport {
  as_of: string;
  scope: ReportScope;
  generated_at: string;
  rows: DefaulterRow[];
}
