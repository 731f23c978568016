import {
  AGEING_BUCKETS,
  COLLECTION_CHANNELS,
  type AgeingAmounts,
  type AgeingReport,
  type AgeingRow,
  type CollectionChannel,
  type DefaultersReport,
  type FeeItemRevenue,
  type MonthlyRevenueReport,
  type RevenueFigures,
  type SchoolBreakdownRow,
} from '../../src/modules/reports/reports.types';
import { prng } from '../../seeds/demo-data';

/**
 * Finance reports built in memory, with figures that tie out (fee items and schools sum to the
 * totals, channels sum to collected, net = billed - exempted - discounted), for the renderers'
 * tests. Deterministic: a seeded generator, so two calls give equal reports.
 */
export const FEE_ITEMS = [
  { code: 'HP', name: 'Học phí', unitVnd: 300_000 },
  { code: 'BT', name: 'Tiền ăn bán trú, "suất" trưa', unitVnd: 800_000 },
  { code: 'PVBT', name: 'Phục vụ bán trú', unitVnd: 150_000 },
  { code: 'VS', name: 'Vệ sinh', unitVnd: 20_000 },
  { code: 'NU', name: 'Nước uống', unitVnd: 15_000 },
  { code: 'TA', name: 'Tiếng Anh tăng cường (tự nguyện)', unitVnd: 200_000 },
] as const;

const DISTRICTS = [
  { code: 'Q12', name: 'Quận 12' },
  { code: 'GV', name: 'Quận Gò Vấp' },
  { code: 'NB', name: 'Huyện Nhà Bè' },
  { code: 'BT', name: 'Quận Bình Thạnh' },
  { code: 'TD', name: 'Thành phố Thủ Đức' },
  { code: 'CC', name: 'Huyện Củ Chi' },
];
const SCHOOL_NAMES = ['Nguyễn Ảnh Thủ', 'Lê Quý Đôn', 'Phan Tây Hồ', 'Nguyễn Trãi', 'Trần Hưng Đạo', 'Võ Thị Sáu', 'Lương Thế Vinh', 'Huỳnh Tấn Phát', 'Nguyễn Bỉnh Khiêm', 'Đinh Tiên Hoàng'];
const PROVINCE = { province_code: '79', province_name: 'Thành phố Hồ Chí Minh' };

const noChannels = (): Record<CollectionChannel, number> => ({ bill_payment: 0, qr_transfer: 0, vnpay: 0, manual: 0, statement: 0 });
const zeroFigures = (): RevenueFigures => ({ billed_vnd: 0, exempted_vnd: 0, discounted_vnd: 0, net_billed_vnd: 0, collected_vnd: 0, collected_by_channel_vnd: noChannels() });

function addFigures(into: RevenueFigures, f: RevenueFigures): void {
  into.billed_vnd += f.billed_vnd;
  into.exempted_vnd += f.exempted_vnd;
  into.discounted_vnd += f.discounted_vnd;
  into.net_billed_vnd += f.net_billed_vnd;
  into.collected_vnd += f.collected_vnd;
  for (const c of COLLECTION_CHANNELS) into.collected_by_channel_vnd[c] += f.collected_by_channel_vnd[c];
}

/** One school's month for one fee item: whole-thousand amounts, collected split across channels. */
function itemFigures(rand: () => number, students: number, unitVnd: number, exemptable: boolean): RevenueFigures {
  const billed = students * unitVnd;
  const exempted = exemptable ? Math.floor(students * 0.06 * rand()) * unitVnd : 0;
  const discounted = Math.floor(students * 0.02 * rand()) * Math.round(unitVnd / 2000) * 1000;
  const net = billed - exempted - discounted;
  const collected = Math.round((net * (0.8 + 0.2 * rand())) / 1000) * 1000;
  const channels = noChannels();
  const weights = [0.35, 0.4, 0.15, 0.05, 0.05].map((w) => w * (0.5 + rand()));
  const weightSum = weights.reduce((a, b) => a + b, 0);
  let left = collected;
  COLLECTION_CHANNELS.forEach((c, i) => {
    const part = i === COLLECTION_CHANNELS.length - 1 ? left : Math.floor((collected * weights[i]!) / weightSum / 1000) * 1000;
    channels[c] = part;
    left -= part;
  });
  return { billed_vnd: billed, exempted_vnd: exempted, discounted_vnd: discounted, net_billed_vnd: net, collected_vnd: collected, collected_by_channel_vnd: channels };
}

interface SchoolMonth {
  row: SchoolBreakdownRow;
  items: RevenueFigures[];
}

function schoolMonth(rand: () => number, index: number): SchoolMonth {
  const district = DISTRICTS[index % DISTRICTS.length]!;
  const level = index % 2 === 0 ? 'Trường Tiểu học' : 'Trường THCS';
  const name = `${level} ${SCHOOL_NAMES[index % SCHOOL_NAMES.length]}${index >= SCHOOL_NAMES.length ? ` số ${Math.floor(index / SCHOOL_NAMES.length) + 1}` : ''}`;
  const students = 300 + Math.floor(rand() * 900);
  const items = FEE_ITEMS.map((f) => itemFigures(rand, f.code === 'TA' ? Math.floor(students * 0.4) : students, f.unitVnd, f.code === 'HP'));
  const figures = zeroFigures();
  for (const f of items) addFigures(figures, f);
  const outstanding = figures.net_billed_vnd - figures.collected_vnd + Math.floor(rand() * 50) * 100_000;
  const row: SchoolBreakdownRow = {
    school_id: `sch_${String(index + 1).padStart(6, '0')}`,
    school_name: name,
    district_code: district.code,
    district_name: district.name,
    ...figures,
    outstanding_vnd: outstanding,
    credit_balance_vnd: Math.floor(rand() * 20) * 50_000,
    refunded_vnd: Math.floor(rand() * 4) * 100_000,
    open_exceptions: Math.floor(rand() * 3),
    open_exceptions_vnd: 0,
  };
  row.open_exceptions_vnd = row.open_exceptions * 250_000;
  return { row, items };
}

function revenueOf(months: SchoolMonth[], scope: MonthlyRevenueReport['scope'], withSchools: boolean): MonthlyRevenueReport {
  const feeItems: FeeItemRevenue[] = FEE_ITEMS.map((f, i) => {
    const figures = zeroFigures();
    for (const m of months) addFigures(figures, m.items[i]!);
    return { fee_item_code: f.code, fee_item_name: f.name, ...figures };
  });
  const totals = { ...zeroFigures(), outstanding_vnd: 0, credit_balance_vnd: 0, refunded_vnd: 0 };
  for (const m of months) {
    addFigures(totals, m.row);
    totals.outstanding_vnd += m.row.outstanding_vnd;
    totals.credit_balance_vnd += m.row.credit_balance_vnd;
    totals.refunded_vnd += m.row.refunded_vnd;
  }
  const receiptCount = months.length * 40;
  return {
    month: '2026-11',
    scope,
    generated_at: '2026-12-01T01:05:09.000Z',
    closed: false,
    snapshot: null,
    totals,
    fee_items: feeItems,
    receipts: [
      { series: '1C26TAA', first_number: 1, last_number: receiptCount, issued_count: receiptCount, cancelled_count: 2, amount_vnd: Math.floor(totals.collected_vnd * 0.7) },
      { series: '1C26TBB', first_number: 15, last_number: 15 + months.length * 10, issued_count: months.length * 10 + 1, cancelled_count: 0, amount_vnd: totals.collected_vnd - Math.floor(totals.collected_vnd * 0.7) },
    ],
    reconciliation: { open_exceptions: months.reduce((s, m) => s + m.row.open_exceptions, 0), open_exceptions_vnd: months.reduce((s, m) => s + m.row.open_exceptions_vnd, 0) },
    schools: withSchools ? months.map((m) => m.row) : [],
  };
}

/** A school's month: Trường THCS Nguyễn Ảnh Thủ, Quận 12, November 2026, not closed. */
export function schoolRevenueReport(): MonthlyRevenueReport {
  const month = schoolMonth(prng(7), 0);
  month.row.school_name = 'Trường THCS Nguyễn Ảnh Thủ';
  return revenueOf([month], { level: 'school', school_id: month.row.school_id, school_name: month.row.school_name, district_code: 'Q12', district_name: 'Quận 12', ...PROVINCE }, false);
}

/** A city's month across `schoolCount` schools, with the per-school breakdown; closed, with a snapshot. */
export function cityRevenueReport(schoolCount: number): MonthlyRevenueReport {
  const rand = prng(11);
  const months = Array.from({ length: schoolCount }, (_, i) => schoolMonth(rand, i));
  const report = revenueOf(months, { level: 'city', ...PROVINCE }, true);
  report.closed = true;
  report.snapshot = { sha256: 'a3f1c2d4e5b6978800112233445566778899aabbccddeeff0011223344556677', closed_at: '2026-12-03T02:30:00.000Z' };
  return report;
}

/** A district's month (Quận Gò Vấp) over `schoolCount` schools. */
export function districtRevenueReport(schoolCount: number): MonthlyRevenueReport {
  const rand = prng(13);
  const months = Array.from({ length: schoolCount }, (_, i) => schoolMonth(rand, i * DISTRICTS.length + 1));
  return revenueOf(months, { level: 'district', district_code: 'GV', district_name: 'Quận Gò Vấp', ...PROVINCE }, true);
}

function ageingRow(rand: () => number, group: AgeingRow['group'], key: string, label: string, schoolId: string): AgeingRow {
  const amounts = Object.fromEntries(AGEING_BUCKETS.map((b) => [b, Math.floor(rand() * 200) * 50_000])) as AgeingAmounts;
  amounts.total_vnd = AGEING_BUCKETS.reduce((s, b) => s + amounts[b], 0);
  return { group, key, label, school_id: schoolId, ...amounts };
}

/** Ageing at 30/11/2026 for one school: by school, by class and by fee item (classes and items split the school's amounts). */
export function schoolAgeingReport(): AgeingReport {
  const rand = prng(17);
  const schoolId = 'sch_000001';
  const classes = ['6A1', '6A2', '7A1', '8A3', '9A1'].map((c) => ageingRow(rand, 'class', `cls_${c}`, `Lớp ${c}`, schoolId));
  const total = (rows: AgeingRow[]) => {
    const t = { total_vnd: 0 } as AgeingAmounts;
    for (const b of AGEING_BUCKETS) t[b] = rows.reduce((s, r) => s + r[b], 0);
    t.total_vnd = rows.reduce((s, r) => s + r.total_vnd, 0);
    return t;
  };
  const totals = total(classes);
  // Fee items: the same receivables split 60/40 between two items, bucket by bucket.
  const hp = { group: 'fee_item', key: 'HP', label: 'Học phí', school_id: schoolId, total_vnd: 0 } as AgeingRow;
  const bt = { group: 'fee_item', key: 'BT', label: 'Tiền ăn bán trú', school_id: schoolId, total_vnd: 0 } as AgeingRow;
  for (const b of AGEING_BUCKETS) {
    hp[b] = Math.floor((totals[b] * 0.6) / 1000) * 1000;
    bt[b] = totals[b] - hp[b];
    hp.total_vnd += hp[b];
    bt.total_vnd += bt[b];
  }
  const schoolRow: AgeingRow = { group: 'school', key: schoolId, label: 'Trường THCS Nguyễn Ảnh Thủ', school_id: schoolId, ...totals };
  return {
    as_of: '2026-11-30',
    scope: { level: 'school', school_id: schoolId, school_name: 'Trường THCS Nguyễn Ảnh Thủ', district_code: 'Q12', district_name: 'Quận 12', ...PROVINCE },
    generated_at: '2026-12-01T01:05:09.000Z',
    totals,
    rows: [schoolRow, ...classes, hp, bt],
  };
}

/** Defaulters at 30/11/2026 for one school: partly paid and unpaid invoices, masked personal IDs. */
export function schoolDefaultersReport(): DefaultersReport {
  const people = [
    ['Nguyễn Thị Ánh Tuyết', '6A1', 45, 1_250_000, 500_000],
    ['Trần Văn Đức', '6A2', 15, 1_250_000, 0],
    ['Lê Hoàng Phúc', '7A1', 75, 980_000, 980_000 - 120_000],
    ['Phạm Ngọc Quỳnh Như', '8A3', 120, 1_560_000, 0],
    ['Võ Minh Khôi', null, 3, 300_000, 100_000],
  ] as const;
  return {
    as_of: '2026-11-30',
    scope: { level: 'school', school_id: 'sch_000001', school_name: 'Trường THCS Nguyễn Ảnh Thủ', district_code: 'Q12', district_name: 'Quận 12', ...PROVINCE },
    generated_at: '2026-12-01T01:05:09.000Z',
    rows: people.map(([name, cls, days, net, paid], i) => ({
      student_id: `stu_${i + 1}`,
      personal_id: `079******${String(101 + i)}`,
      full_name: name,
      school_id: 'sch_000001',
      class_name: cls,
      invoice_id: `inv_${i + 1}`,
      invoice_number: `HD-2026-${String(1000 + i).padStart(6, '0')}`,
      due_on: '2026-10-15',
      days_past_due: days,
      net_vnd: net,
      paid_vnd: paid,
      outstanding_vnd: net - paid,
    })),
  };
}

/** Ageing at 30/11/2026 for a district (Quận 12) of two schools: by school and by (school, fee item), no classes. */
export function districtAgeingReport(): AgeingReport {
  const rand = prng(19);
  const schools = [
    { id: 'sch_000001', name: 'Trường THCS Nguyễn Ảnh Thủ' },
    { id: 'sch_000002', name: 'Trường Tiểu học Nguyễn Trãi' },
  ];
  const rows: AgeingRow[] = [];
  for (const s of schools) {
    const items = [ageingRow(rand, 'fee_item', 'HP', 'Học phí', s.id), ageingRow(rand, 'fee_item', 'BT', 'Tiền ăn bán trú', s.id)];
    const school = { group: 'school', key: s.id, label: s.name, school_id: s.id, total_vnd: 0 } as AgeingRow;
    for (const b of AGEING_BUCKETS) school[b] = items.reduce((sum, i) => sum + i[b], 0);
    school.total_vnd = items.reduce((sum, i) => sum + i.total_vnd, 0);
    rows.push(school, ...items);
  }
  const totals = { total_vnd: 0 } as AgeingAmounts;
  for (const b of AGEING_BUCKETS) totals[b] = rows.filter((r) => r.group === 'school').reduce((sum, r) => sum + r[b], 0);
  totals.total_vnd = rows.filter((r) => r.group === 'school').reduce((sum, r) => sum + r.total_vnd, 0);
  return {
    as_of: '2026-11-30',
    scope: { level: 'district', district_code: 'Q12', district_name: 'Quận 12', ...PROVINCE },
    generated_at: '2026-12-01T01:05:09.000Z',
    totals,
    rows,
  };
}
