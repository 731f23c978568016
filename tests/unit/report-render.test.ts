import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Workbook, type Worksheet } from 'exceljs';
import fc from 'fast-check';
import JSZip from 'jszip';
import { parseCsv } from '../../src/lib/csv';
import { canonicalJson, renderReport, type ReportFormat, type ReportKind } from '../../src/modules/reports/render';
import { AGEING_BUCKETS, COLLECTION_CHANNELS, type MonthlyRevenueReport } from '../../src/modules/reports/reports.types';
import { cityRevenueReport, districtAgeingReport, districtRevenueReport, schoolAgeingReport, schoolDefaultersReport, schoolRevenueReport } from '../factories/report-fixtures';
import { pdfText } from '../support/pdf-text';

/**
 * The finance reports' files. Invariants: every format carries the report's own figures (CSV and
 * XLSX read back equal to the JSON, amounts as plain integers / numbers), the Vietnamese headings
 * are there, and the same report always renders to the same bytes, whatever the clock says.
 */

const FORMATS: ReportFormat[] = ['json', 'csv', 'xlsx', 'pdf'];
const REPORTS: [ReportKind, string, () => Parameters<typeof renderReport>[1]][] = [
  ['revenue', 'a school month', schoolRevenueReport],
  ['revenue', 'a district month', () => districtRevenueReport(25)],
  ['ageing', 'a school ageing', schoolAgeingReport],
  ['ageing', 'a district ageing', districtAgeingReport],
  ['defaulters', 'a school defaulter list', schoolDefaultersReport],
];

/** The CSV's sections: a title row (one cell), a header row, then the data up to the next title. */
function csvSections(body: Buffer, titles: string[]): Map<string, { header: string[]; rows: string[][] }> {
  const rows = parseCsv(body.toString('utf8'));
  const sections = new Map<string, { header: string[]; rows: string[][] }>();
  let current: { header: string[]; rows: string[][] } | undefined;
  for (const row of rows) {
    if (row.length === 1 && titles.includes(row[0]!)) {
      current = { header: [], rows: [] };
      sections.set(row[0]!, current);
    } else if (current && current.header.length === 0) {
      current.header = row;
    } else {
      current!.rows.push(row);
    }
  }
  return sections;
}

const REVENUE_TITLES = ['Thông tin báo cáo', 'Tổng hợp', 'Theo khoản thu', 'Theo kênh thanh toán', 'Biên lai theo ký hiệu', 'Đối soát', 'Chi tiết theo trường'];

function numbersOf(row: string[], from: number): number[] {
  return row.slice(from).map((cell) => {
    expect(cell).toMatch(/^-?\d+$/);
    return Number(cell);
  });
}

const figures = (f: MonthlyRevenueReport['totals'] | MonthlyRevenueReport['fee_items'][number]) => [f.billed_vnd, f.exempted_vnd, f.discounted_vnd, f.net_billed_vnd, f.collected_vnd, ...COLLECTION_CHANNELS.map((c) => f.collected_by_channel_vnd[c])];

async function openXlsx(body: Buffer): Promise<Workbook> {
  const wb = new Workbook();
  await wb.xlsx.load(body as unknown as ArrayBuffer);
  return wb;
}

function sheetRows(ws: Worksheet): unknown[][] {
  const rows: unknown[][] = [];
  ws.eachRow({ includeEmpty: true }, (row) => {
    rows.push((row.values as unknown[]).slice(1));
  });
  return rows;
}

const lastRow = (ws: Worksheet) => sheetRows(ws).at(-1)!;

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/** Runs `body` in a fresh Node process (tsx), where `hash(kind, report, format)` renders and hashes; returns its `out`. */
function hashesInChild(body: string, timeZone = 'UTC'): Promise<Record<string, string>> {
  const script = `const { createHash } = require('node:crypto');
const { renderReport } = require('./src/modules/reports/render');
const f = require('./tests/factories/report-fixtures');
const hash = async (kind, report, format) => createHash('sha256').update((await renderReport(kind, report, format)).body).digest('hex');
(async () => {
  const out = {};
  ${body}
  process.stdout.write(JSON.stringify(out));
})();`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: join(__dirname, '../..'), env: { ...process.env, TZ: timeZone } }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout) as Record<string, string>)));
  });
}

/** The first deflated stream that draws rectangles: the first page's content. */
function firstPageContent(pdf: Buffer): string {
  const raw = pdf.toString('latin1');
  for (const m of raw.matchAll(/stream\r?\n/g)) {
    const start = m.index + m[0].length;
    try {
      const content = inflateSync(pdf.subarray(start, raw.indexOf('endstream', start))).toString('latin1');
      if (content.includes(' re')) return content;
    } catch {
      // Not a deflated stream (or not a content stream): keep looking.
    }
  }
  throw new Error('no page content found');
}

function barRectangles(content: string): { x: number; y: number; width: number }[] {
  return [...content.matchAll(/([\d.-]+) ([\d.-]+) ([\d.-]+) 11 re/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), width: Number(m[3]) }));
}

describe('canonicalJson', () => {
  test('when the same value has its keys in another order at any depth, then the bytes are the same', () => {
    const a = { month: '2026-11', totals: { collected_vnd: 5, billed_vnd: 7 }, fee_items: [{ b: 1, a: 2 }], name: 'Trường THCS Nguyễn Ảnh Thủ' };
    const b = { name: 'Trường THCS Nguyễn Ảnh Thủ', fee_items: [{ a: 2, b: 1 }], totals: { billed_vnd: 7, collected_vnd: 5 }, month: '2026-11' };
    expect(canonicalJson(a).equals(canonicalJson(b))).toBe(true);
    expect(canonicalJson(a).toString('utf8')).toBe('{"fee_items":[{"a":2,"b":1}],"month":"2026-11","name":"Trường THCS Nguyễn Ảnh Thủ","totals":{"billed_vnd":7,"collected_vnd":5}}');
  });

  test('for any JSON value, shuffling its keys changes no byte and the bytes parse back to the value', () => {
    const shuffle = (value: unknown, seed: number): unknown => {
      if (Array.isArray(value)) return value.map((v, i) => shuffle(v, seed + i));
      if (value && typeof value === 'object') {
        const entries = Object.entries(value);
        const rotated = [...entries.slice(seed % Math.max(entries.length, 1)), ...entries.slice(0, seed % Math.max(entries.length, 1))].reverse();
        return Object.fromEntries(rotated.map(([k, v], i) => [k, shuffle(v, seed + i + 1)]));
      }
      return value;
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(50), (value, seed) => {
        const bytes = canonicalJson(value);
        expect(canonicalJson(shuffle(value, seed)).equals(bytes)).toBe(true);
        expect(JSON.parse(bytes.toString('utf8'))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });

  test('refuses values JSON cannot carry instead of altering them', () => {
    expect(() => canonicalJson({ amount_vnd: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ amount_vnd: 10n })).toThrow(TypeError);
    expect(() => canonicalJson({ amount_vnd: Infinity })).toThrow(TypeError);
  });
});

describe('renderReport: JSON', () => {
  test('is the canonical bytes of the report, which parse back to it', async () => {
    const report = schoolRevenueReport();
    const rendered = await renderReport('revenue', report, 'json');
    expect(rendered).toMatchObject({ contentType: 'application/json; charset=utf-8', fileExtension: 'json' });
    expect(rendered.body.equals(canonicalJson(report))).toBe(true);
    expect(JSON.parse(rendered.body.toString('utf8'))).toEqual(report);
  });

  test('when the kind does not match the report, then it refuses (a caller bug, not a file)', async () => {
    await expect(renderReport('ageing', schoolRevenueReport(), 'csv')).rejects.toThrow(TypeError);
    await expect(renderReport('revenue', schoolDefaultersReport(), 'json')).rejects.toThrow(TypeError);
    await expect(renderReport('defaulters', schoolAgeingReport(), 'pdf')).rejects.toThrow(TypeError);
  });
});

describe('renderReport: CSV', () => {
  test('a school month: UTF-8 with a BOM, sections apart by a blank line, figures equal to the report', async () => {
    const report = schoolRevenueReport();
    const { body, contentType, fileExtension } = await renderReport('revenue', report, 'csv');
    expect(contentType).toBe('text/csv; charset=utf-8');
    expect(fileExtension).toBe('csv');
    expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = body.toString('utf8');
    for (const title of REVENUE_TITLES.slice(1, -1)) expect(text).toContain(`\r\n\r\n${title}\r\n`);
    expect(text).not.toContain('Chi tiết theo trường');

    const sections = csvSections(body, REVENUE_TITLES);
    const totals = sections.get('Tổng hợp')!;
    expect(totals.header).toEqual(['Chỉ tiêu', 'Số tiền (đồng)']);
    expect(totals.rows.map((r) => numbersOf(r, 1)[0])).toEqual([report.totals.billed_vnd, report.totals.exempted_vnd, report.totals.discounted_vnd, report.totals.net_billed_vnd, report.totals.collected_vnd, report.totals.outstanding_vnd, report.totals.credit_balance_vnd, report.totals.refunded_vnd]);

    const items = sections.get('Theo khoản thu')!;
    expect(items.header.slice(0, 7)).toEqual(['Mã khoản thu', 'Khoản thu', 'Phải thu (chưa trừ miễn giảm)', 'Miễn giảm', 'Giảm trừ', 'Phải thu sau miễn giảm', 'Đã thu']);
    expect(items.rows).toHaveLength(report.fee_items.length + 1);
    report.fee_items.forEach((f, i) => {
      // A name with a comma and quotes survives RFC 4180 quoting.
      expect(items.rows[i]!.slice(0, 2)).toEqual([f.fee_item_code, f.fee_item_name]);
      expect(numbersOf(items.rows[i]!, 2)).toEqual(figures(f));
    });
    const itemsTotal = items.rows.at(-1)!;
    expect(itemsTotal[1]).toBe('Tổng cộng');
    expect(numbersOf(itemsTotal, 2)).toEqual(figures(report.totals));

    const channels = sections.get('Theo kênh thanh toán')!;
    expect(channels.rows.slice(0, -1).map((r) => r[0])).toEqual([...COLLECTION_CHANNELS]);
    expect(channels.rows.slice(0, -1).map((r) => Number(r[2]))).toEqual(COLLECTION_CHANNELS.map((c) => report.totals.collected_by_channel_vnd[c]));
    expect(Number(channels.rows.at(-1)![2])).toBe(report.totals.collected_vnd);

    const receipts = sections.get('Biên lai theo ký hiệu')!;
    expect(receipts.rows.slice(0, -1).map((r) => [r[0], ...numbersOf(r, 1)])).toEqual(report.receipts.map((r) => [r.series, r.first_number, r.last_number, r.issued_count, r.cancelled_count, r.amount_vnd]));
    expect(numbersOf(sections.get('Đối soát')!.rows[0]!, 0)).toEqual([report.reconciliation.open_exceptions, report.reconciliation.open_exceptions_vnd]);
  });

  test('a district month: the per-school breakdown, whose columns sum to the totals', async () => {
    const report = districtRevenueReport(25);
    const sections = csvSections((await renderReport('revenue', report, 'csv')).body, REVENUE_TITLES);
    const schools = sections.get('Chi tiết theo trường')!;
    expect(schools.header.slice(0, 3)).toEqual(['Mã trường', 'Tên trường', 'Quận, huyện']);
    const data = schools.rows.slice(0, -1);
    expect(data.map((r) => r[1])).toEqual(report.schools.map((s) => s.school_name));
    const columnSums = numbersOf(schools.rows.at(-1)!, 3).map((_, i) => data.reduce((sum, r) => sum + Number(r[3 + i]), 0));
    expect(numbersOf(schools.rows.at(-1)!, 3)).toEqual(columnSums);
    expect(numbersOf(schools.rows.at(-1)!, 3)).toEqual([...figures(report.totals), report.totals.outstanding_vnd, report.totals.credit_balance_vnd, report.totals.refunded_vnd, report.reconciliation.open_exceptions, report.reconciliation.open_exceptions_vnd]);
  });

  test('ageing and defaulters: totals equal the report, names and dates in Vietnamese form', async () => {
    const ageing = schoolAgeingReport();
    const a = csvSections((await renderReport('ageing', ageing, 'csv')).body, ['Thông tin báo cáo', 'Tổng hợp tuổi nợ', 'Theo trường', 'Theo lớp', 'Theo khoản thu']);
    expect(a.get('Tổng hợp tuổi nợ')!.rows.map((r) => Number(r[1]))).toEqual([...AGEING_BUCKETS.map((b) => ageing.totals[b]), ageing.totals.total_vnd]);
    const ageingTotals = [...AGEING_BUCKETS.map((b) => ageing.totals[b]), ageing.totals.total_vnd];
    expect(numbersOf(a.get('Theo trường')!.rows.at(-1)!, 2)).toEqual(ageingTotals);
    expect(numbersOf(a.get('Theo lớp')!.rows.at(-1)!, 3)).toEqual(ageingTotals);
    expect(numbersOf(a.get('Theo khoản thu')!.rows.at(-1)!, 2)).toEqual(ageingTotals);
    expect(a.get('Theo lớp')!.rows.map((r) => r[1])).toContain('Lớp 6A1');

    const defaulters = schoolDefaultersReport();
    const d = csvSections((await renderReport('defaulters', defaulters, 'csv')).body, ['Thông tin báo cáo', 'Danh sách còn nợ']);
    const list = d.get('Danh sách còn nợ')!;
    expect(list.rows.slice(0, -1).map((r) => [r[1], r[2], r[8], Number(r[12])])).toEqual(defaulters.rows.map((r) => [r.full_name, r.personal_id, '15/10/2026', r.outstanding_vnd]));
    expect(Number(list.rows.at(-1)![12])).toBe(defaulters.rows.reduce((s, r) => s + r.outstanding_vnd, 0));
  });

  test('figures the service adds when it has them (credit notes, credit applied, late events) are printed in every format', async () => {
    const base = districtRevenueReport(3);
    const report = {
      ...base,
      totals: { ...base.totals, credit_notes_vnd: 1_200_000, credit_applied_vnd: 800_000 },
      fee_items: base.fee_items.map((f, i) => ({ ...f, credit_notes_vnd: i === 0 ? 1_200_000 : 0, credit_applied_vnd: i === 1 ? 800_000 : 0 })),
      late_events: [{ concerns_month: '2026-10', events: 3 }],
    };
    const titles = [...REVENUE_TITLES, 'Phát sinh muộn (tháng đã khóa)'];
    const csv = csvSections((await renderReport('revenue', report, 'csv')).body, titles);
    expect(csv.get('Tổng hợp')!.rows).toContainEqual(['Điều chỉnh giảm phải thu (chứng từ điều chỉnh)', '1200000']);
    expect(csv.get('Tổng hợp')!.rows).toContainEqual(['Cấn trừ từ tiền thừa của học sinh', '800000']);
    const items = csv.get('Theo khoản thu')!;
    expect(items.header.slice(-2)).toEqual(['Điều chỉnh giảm phải thu (chứng từ điều chỉnh)', 'Cấn trừ từ tiền thừa của học sinh']);
    expect(items.rows.at(-1)!.slice(-2)).toEqual(['1200000', '800000']);
    expect(csv.get('Phát sinh muộn (tháng đã khóa)')!.rows).toEqual([['10/2026', '3']]);

    const wb = await openXlsx((await renderReport('revenue', report, 'xlsx')).body);
    expect(sheetRows(wb.getWorksheet('Phát sinh muộn (tháng đã khóa)')!)).toEqual([['Tháng liên quan', 'Số phát sinh ghi nhận trong tháng này'], ['10/2026', 3]]);

    const text = (await pdfText((await renderReport('revenue', report, 'pdf')).body)).normalize('NFC');
    expect(text).toContain('Cấn trừ từ tiền thừa của học sinh');
    expect(text).toContain('PHÁT SINH MUỘN (THÁNG ĐÃ KHÓA)');
  });

  test('a district ageing: fee items added up across schools, then split per school with the school names', async () => {
    const ageing = districtAgeingReport();
    const titles = ['Thông tin báo cáo', 'Tổng hợp tuổi nợ', 'Theo trường', 'Theo lớp', 'Theo khoản thu', 'Khoản thu theo trường'];
    const a = csvSections((await renderReport('ageing', ageing, 'csv')).body, titles);
    expect([...a.keys()]).toEqual(['Thông tin báo cáo', 'Tổng hợp tuổi nợ', 'Theo trường', 'Theo khoản thu', 'Khoản thu theo trường']);
    const ageingTotals = [...AGEING_BUCKETS.map((b) => ageing.totals[b]), ageing.totals.total_vnd];
    const items = a.get('Theo khoản thu')!;
    expect(items.rows.map((r) => r[1])).toEqual(['Học phí', 'Tiền ăn bán trú', 'Tổng cộng']);
    const hp = ageing.rows.filter((r) => r.group === 'fee_item' && r.key === 'HP');
    expect(Number(items.rows[0]![7])).toBe(hp.reduce((s, r) => s + r.total_vnd, 0));
    expect(numbersOf(items.rows.at(-1)!, 2)).toEqual(ageingTotals);
    const bySchool = a.get('Khoản thu theo trường')!;
    expect(bySchool.rows).toHaveLength(5);
    expect(bySchool.rows[2]!.slice(0, 4)).toEqual(['sch_000002', 'Trường Tiểu học Nguyễn Trãi', 'HP', 'Học phí']);
    expect(numbersOf(bySchool.rows.at(-1)!, 4)).toEqual(ageingTotals);

    const text = (await pdfText((await renderReport('ageing', ageing, 'pdf')).body)).normalize('NFC');
    expect(text).toContain('PHÒNG GIÁO DỤC VÀ ĐÀO TẠO QUẬN 12');
    expect(text).toContain('THEO KHOẢN THU');
    expect(text).not.toContain('KHOẢN THU THEO TRƯỜNG');
    expect(text).not.toContain('THEO LỚP');
  });

  test('a school name a spreadsheet would run as a formula is written as text', async () => {
    const report = districtRevenueReport(2);
    report.schools[0]!.school_name = '=HYPERLINK("http://x","Trường")';
    const schools = csvSections((await renderReport('revenue', report, 'csv')).body, REVENUE_TITLES).get('Chi tiết theo trường')!;
    expect(schools.rows[0]![1]).toBe(`'=HYPERLINK("http://x","Trường")`);
  });
});

describe('renderReport: XLSX', () => {
  test('a school month: a sheet per section with Vietnamese names, frozen headers, #,##0 amounts, totals equal to the JSON', async () => {
    const report = schoolRevenueReport();
    const { body, contentType } = await renderReport('revenue', report, 'xlsx');
    expect(contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const wb = await openXlsx(body);
    expect(wb.worksheets.map((ws) => ws.name)).toEqual(REVENUE_TITLES.slice(0, -1));
    expect(wb.created.toISOString()).toBe(report.generated_at);
    expect(wb.modified.toISOString()).toBe(report.generated_at);
    for (const ws of wb.worksheets) {
      expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
      expect(ws.getRow(1).font).toMatchObject({ bold: true });
      expect(ws.getColumn(1).width).toBeGreaterThan(8);
    }

    const totals = sheetRows(wb.getWorksheet('Tổng hợp')!);
    expect(totals[0]).toEqual(['Chỉ tiêu', 'Số tiền (đồng)']);
    expect(totals.slice(1).map((r) => r[1])).toEqual([report.totals.billed_vnd, report.totals.exempted_vnd, report.totals.discounted_vnd, report.totals.net_billed_vnd, report.totals.collected_vnd, report.totals.outstanding_vnd, report.totals.credit_balance_vnd, report.totals.refunded_vnd]);
    expect(wb.getWorksheet('Tổng hợp')!.getCell('B2').numFmt).toBe('#,##0');

    const items = wb.getWorksheet('Theo khoản thu')!;
    expect(sheetRows(items).slice(1, -1).map((r) => r.slice(2))).toEqual(report.fee_items.map(figures));
    expect(lastRow(items).slice(1)).toEqual(['Tổng cộng', ...figures(report.totals)]);
    expect(items.getCell('G2').numFmt).toBe('#,##0');
    expect(typeof items.getCell(`G${report.fee_items.length + 2}`).value).toBe('number');

    expect(lastRow(wb.getWorksheet('Theo kênh thanh toán')!)).toEqual([undefined, 'Tổng cộng', report.totals.collected_vnd]);
    expect(lastRow(wb.getWorksheet('Biên lai theo ký hiệu')!)).toEqual(['Tổng cộng', undefined, undefined, report.receipts.reduce((s, r) => s + r.issued_count, 0), report.receipts.reduce((s, r) => s + r.cancelled_count, 0), report.receipts.reduce((s, r) => s + r.amount_vnd, 0)]);
    expect(lastRow(wb.getWorksheet('Đối soát')!)).toEqual([report.reconciliation.open_exceptions, report.reconciliation.open_exceptions_vnd]);
  });

  test('ageing and defaulters open with their totals', async () => {
    const ageing = schoolAgeingReport();
    const a = await openXlsx((await renderReport('ageing', ageing, 'xlsx')).body);
    expect(a.worksheets.map((ws) => ws.name)).toEqual(['Thông tin báo cáo', 'Tổng hợp tuổi nợ', 'Theo trường', 'Theo lớp', 'Theo khoản thu']);
    expect(lastRow(a.getWorksheet('Theo lớp')!).slice(3)).toEqual([...AGEING_BUCKETS.map((b) => ageing.totals[b]), ageing.totals.total_vnd]);

    const defaulters = schoolDefaultersReport();
    const d = await openXlsx((await renderReport('defaulters', defaulters, 'xlsx')).body);
    const list = d.getWorksheet('Danh sách còn nợ')!;
    expect(sheetRows(list)[1]!.slice(0, 3)).toEqual([1, 'Nguyễn Thị Ánh Tuyết', '079******101']);
    expect(lastRow(list).slice(10)).toEqual([5_340_000, 1_460_000, 3_880_000]);
  });
});

describe('renderReport: PDF', () => {
  test('a school month: the administrative header, the title, the chart and the figures in Vietnamese', async () => {
    const report = schoolRevenueReport();
    const { body, contentType } = await renderReport('revenue', report, 'pdf');
    expect(contentType).toBe('application/pdf');
    expect(body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    // pdfkit writes the info dictionary's dates as indirect objects: both are the report's generated_at.
    const raw = body.toString('latin1');
    for (const key of ['CreationDate', 'ModDate']) {
      const ref = new RegExp(`/${key} (\\d+) 0 R`).exec(raw)![1];
      expect(raw).toContain(`\n${ref} 0 obj\n(D:20261201010509Z)\nendobj`);
    }
    const text = (await pdfText(body)).normalize('NFC');
    for (const heading of [
      'SỞ GIÁO DỤC VÀ ĐÀO TẠO THÀNH PHỐ HỒ CHÍ MINH',
      'PHÒNG GIÁO DỤC VÀ ĐÀO TẠO QUẬN 12',
      'TRƯỜNG THCS NGUYỄN ẢNH THỦ',
      'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM',
      'BÁO CÁO THU HỌC PHÍ THÁNG 11/2026',
      'TỔNG HỢP',
      'BIỂU ĐỒ SỐ TIỀN ĐÃ THU',
      'Theo kênh thanh toán',
      'Chuyển khoản / VietQR',
      'BIÊN LAI THEO KÝ HIỆU',
      'Số liệu tạm tính: tháng chưa khóa sổ.',
      'TP. Hồ Chí Minh, ngày 01 tháng 12 năm 2026',
    ]) {
      expect(text).toContain(heading);
    }
    // Amounts Vietnamese-style: dots between thousands, "đ" after.
    expect(text).toContain(`${report.totals.collected_vnd.toLocaleString('de-DE')} đ`);
    expect(text).toContain(report.totals.collected_vnd.toLocaleString('de-DE'));
    expect(text).not.toContain('CHI TIẾT THEO TRƯỜNG');
  });

  test('the charts draw one bar per fee item and per channel, each as long as its amount in proportion', async () => {
    const report = schoolRevenueReport();
    const { body } = await renderReport('revenue', report, 'pdf');
    // The bars are the 11-point-high rectangles of the first page's content stream; each chart's bars share their left edge.
    const bars = barRectangles(firstPageContent(body));
    const charts = [...new Set(bars.map((b) => b.x))].map((x) => bars.filter((b) => b.x === x).sort((a, b) => a.y - b.y).map((b) => b.width));
    expect(charts).toHaveLength(2);
    const byItem = report.fee_items.map((f) => f.collected_vnd).sort((a, b) => b - a);
    const byChannel = COLLECTION_CHANNELS.map((c) => report.totals.collected_by_channel_vnd[c]);
    for (const [widths, amounts] of [[charts[0]!, byItem], [charts[1]!, byChannel]] as const) {
      expect(widths).toHaveLength(amounts.length);
      const scale = Math.max(...widths) / Math.max(...amounts);
      widths.forEach((w, i) => expect(w).toBeCloseTo(amounts[i]! * scale, 2));
    }
  });

  test('ageing and defaulters carry their own titles', async () => {
    const ageing = (await pdfText((await renderReport('ageing', schoolAgeingReport(), 'pdf')).body)).normalize('NFC');
    expect(ageing).toContain('BÁO CÁO TUỔI NỢ PHẢI THU ĐẾN NGÀY 30/11/2026');
    expect(ageing).toContain('Quá hạn trên 90 ngày');
    const defaulters = (await pdfText((await renderReport('defaulters', schoolDefaultersReport(), 'pdf')).body)).normalize('NFC');
    expect(defaulters).toContain('DANH SÁCH HỌC SINH CÒN NỢ ĐẾN NGÀY 30/11/2026');
    expect(defaulters).toContain('Phạm Ngọc Quỳnh Như');
  });
});

describe('renderReport: the same report gives the same bytes', () => {
  const notDate = ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] as const;
  afterEach(() => jest.useRealTimers());

  test.each(REPORTS.flatMap(([kind, label, make]) => FORMATS.map((format) => [label, format, kind, make] as const)))('%s as %s, rendered on two different days', async (_label, format, kind, make) => {
    // Only Date is faked: a renderer that reads the clock (a zip entry's time, a PDF's date) would differ.
    jest.useFakeTimers({ doNotFake: [...notDate], now: new Date('2027-01-15T03:04:05Z') });
    const first = await renderReport(kind, make(), format);
    jest.setSystemTime(new Date('2027-06-30T21:59:58Z'));
    const second = await renderReport(kind, make(), format);
    expect(second.body.equals(first.body)).toBe(true);
  });

  test('another process in another time zone renders the same bytes (a snapshot re-downloaded after a restart)', async () => {
    const child = await hashesInChild(`for (const format of ['json', 'csv', 'xlsx', 'pdf']) out[format] = await hash('revenue', f.districtRevenueReport(25), format);`, 'America/New_York');
    const here: Record<string, string> = {};
    for (const format of FORMATS) here[format] = sha256((await renderReport('revenue', districtRevenueReport(25), format)).body);
    expect(child).toEqual(here);
  });

  test('a PDF does not depend on what the process rendered before it', async () => {
    // The district report draws letters such as "Ư" whose glyphs are built from others ("U"),
    // which the school report then draws on their own.
    const alone = await hashesInChild(`out.school = await hash('revenue', f.schoolRevenueReport(), 'pdf');`);
    const after = await hashesInChild(`await hash('revenue', f.districtRevenueReport(3), 'pdf'); await hash('ageing', f.schoolAgeingReport(), 'pdf'); out.school = await hash('revenue', f.schoolRevenueReport(), 'pdf');`);
    expect(after.school).toBe(alone.school);
  });

  test('every zip entry of the XLSX is dated at the report generated_at', async () => {
    const report = schoolRevenueReport();
    const zip = await JSZip.loadAsync((await renderReport('revenue', report, 'xlsx')).body);
    const dates = new Set<string>();
    zip.forEach((_path, entry) => dates.add(entry.date.toISOString()));
    // DOS times count in two seconds: 01:05:09 is stored as 01:05:08.
    expect([...dates]).toEqual(['2026-12-01T01:05:08.000Z']);
  });
});

describe('renderReport: a city month with 2,000 schools', () => {
  const report = cityRevenueReport(2000);

  test('every format renders the whole breakdown, and its totals equal the JSON', async () => {
    const csv = csvSections((await renderReport('revenue', report, 'csv')).body, REVENUE_TITLES);
    expect(csv.get('Chi tiết theo trường')!.rows).toHaveLength(2001);

    const wb = await openXlsx((await renderReport('revenue', report, 'xlsx')).body);
    const schools = wb.getWorksheet('Chi tiết theo trường')!;
    expect(schools.rowCount).toBe(2002);
    expect(lastRow(schools).slice(1, 8)).toEqual(['Tổng cộng', undefined, report.totals.billed_vnd, report.totals.exempted_vnd, report.totals.discounted_vnd, report.totals.net_billed_vnd, report.totals.collected_vnd]);

    const text = (await pdfText((await renderReport('revenue', report, 'pdf')).body)).normalize('NFC');
    expect(text).toContain('SỞ GIÁO DỤC VÀ ĐÀO TẠO THÀNH PHỐ HỒ CHÍ MINH');
    expect(text).toContain('Toàn thành phố Hồ Chí Minh');
    expect(text).toContain(`Mã băm SHA-256 của bản lưu: ${report.snapshot!.sha256}`);
    expect(text).toContain('CHI TIẾT THEO TRƯỜNG');
    expect(text).toContain(report.schools.at(-1)!.school_name);
    expect(text).toMatch(/Trang 2\/\d+/);
  });
});
