import PDFDocument from 'pdfkit';
import type { ReportScope } from '../reports.types';
import { registerReportFonts } from './pdf-fonts';
import type { Cell, ColumnKind, Section } from './report-sections';
import { authorityLines, formatAmount, formatDateline, formatInstant, formatVnd, placeName } from './vi-format';

/**
 * The drawing primitives of the report PDFs: an A4 landscape page with the Vietnamese
 * administrative header, numbered headings, tables that break across pages with their header
 * repeated, horizontal bar charts drawn with vector rectangles, a signature block and a footer
 * with page numbers. Text is placed at computed positions (no line wrapping in table cells, which
 * are cut with an ellipsis), so thousands of rows stay cheap and the output is the same for the
 * same input. Nothing here reads the clock: the only dates are the report's.
 */
export interface PdfMeta {
  title: string;
  subject: string;
  author: string;
  /** The report's generated_at: the PDF's CreationDate and ModDate (and so its file ID). */
  generatedAt: string;
}

const PALETTE = ['#2f6db5', '#e07b39', '#3a9b5c', '#c0392b', '#8e5fb5', '#17a2b8', '#b8860b', '#7f8c8d'];
const HEADER_FILL = '#e7eef7';
const STRIPE_FILL = '#f5f7fa';
const RULE = '#8a97a8';
const ELLIPSIS = '…';

export class ReportPdf {
  readonly doc: PDFKit.PDFDocument;
  readonly left: number;
  readonly width: number;
  private readonly chunks: Buffer[] = [];
  private readonly done: Promise<Buffer>;
  private headingCount = 0;

  constructor(private readonly meta: PdfMeta) {
    const at = new Date(meta.generatedAt);
    // No default font: pdfkit would load its Helvetica metrics, unused.
    this.doc = new PDFDocument({
      size: 'A4',
      layout: 'landscape',
      margins: { top: 36, bottom: 44, left: 36, right: 36 },
      font: null as unknown as string,
      bufferPages: true,
      compress: true,
      lang: 'vi-VN',
      info: { Title: meta.title, Subject: meta.subject, Author: meta.author, Creator: 'school-fees', Producer: 'school-fees (pdfkit)', CreationDate: at, ModDate: at },
    });
    registerReportFonts(this.doc);
    this.doc.font('regular');
    this.doc.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    this.done = new Promise<Buffer>((resolve, reject) => {
      this.doc.on('end', () => resolve(Buffer.concat(this.chunks)));
      this.doc.on('error', reject);
    });
    this.left = this.doc.page.margins.left;
    this.width = this.doc.page.width - this.left - this.doc.page.margins.right;
  }

  private get maxY(): number {
    return this.doc.page.height - this.doc.page.margins.bottom;
  }

  get y(): number {
    return this.doc.y;
  }

  /** Starts a new page unless `height` points still fit on this one. */
  ensureSpace(height: number): void {
    if (this.doc.y + height > this.maxY) this.doc.addPage();
  }

  gap(points: number): void {
    this.doc.y += points;
  }

  /**
   * The header of an administrative document: on the left the issuing bodies (Sở, Phòng, school),
   * the last one bold and underlined; on the right the national motto and the place and date;
   * then the title and the lines under it, centred.
   */
  header(scope: ReportScope, title: string, subtitles: string[]): void {
    const { doc, left, width } = this;
    const top = doc.page.margins.top;
    const leftWidth = width * 0.46;
    const rightX = left + width * 0.5;
    const rightWidth = width * 0.5;

    const bodies = authorityLines(scope);
    doc.y = top;
    bodies.forEach((line, i) => {
      doc.font(i === bodies.length - 1 ? 'bold' : 'regular').fontSize(10).text(line, left, doc.y, { width: leftWidth, align: 'center' });
    });
    this.underline(left + leftWidth / 2, doc.y + 2, Math.min(doc.widthOfString(bodies[bodies.length - 1]!), leftWidth) * 0.4);
    const leftBottom = doc.y;

    doc.y = top;
    doc.font('bold').fontSize(10).text('CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', rightX, top, { width: rightWidth, align: 'center' });
    doc.text('Độc lập – Tự do – Hạnh phúc', rightX, doc.y, { width: rightWidth, align: 'center' });
    this.underline(rightX + rightWidth / 2, doc.y + 2, doc.widthOfString('Độc lập – Tự do – Hạnh phúc'));
    doc.font('italic').fontSize(9.5).text(`${placeName(scope)}, ${formatDateline(this.meta.generatedAt)}`, rightX, doc.y + 8, { width: rightWidth, align: 'center' });

    doc.y = Math.max(leftBottom, doc.y) + 20;
    doc.font('bold').fontSize(15).text(title, left, doc.y, { width, align: 'center' });
    doc.font('regular').fontSize(10);
    for (const line of subtitles) doc.text(line, left, doc.y + 2, { width, align: 'center' });
    doc.y += 12;
  }

  private underline(centreX: number, y: number, length: number): void {
    this.doc.moveTo(centreX - length / 2, y).lineTo(centreX + length / 2, y).lineWidth(0.6).strokeColor('black').stroke();
  }

  /** "I. TỔNG HỢP": numbered in Roman numerals; kept with at least `keepWith` points of what follows. */
  heading(text: string, keepWith = 60): void {
    this.ensureSpace(22 + keepWith);
    this.headingCount++;
    this.doc.font('bold').fontSize(11).fillColor('black').text(`${roman(this.headingCount)}. ${text.toLocaleUpperCase('vi-VN')}`, this.left, this.doc.y, { lineBreak: false });
    this.doc.y += this.doc.currentLineHeight(true) + 6;
  }

  note(text: string, align: 'left' | 'right' = 'right'): void {
    this.doc.font('italic').fontSize(8).fillColor('black').text(text, this.left, this.doc.y, { width: this.width, align });
    this.doc.y += 2;
  }

  /**
   * A section as a table, without its `detail` columns. Amounts print as 1.234.567 (with " đ"
   * when `withCurrency`, for narrow key-value tables); the header row repeats on every page.
   */
  table(section: Section, opts: { width?: number; withCurrency?: boolean; fontSize?: number } = {}): void {
    const { doc } = this;
    const fontSize = opts.fontSize ?? 8;
    const pad = 3;
    const tableWidth = opts.width ?? this.width;
    const shown = section.columns.map((c, i) => ({ c, i })).filter(({ c }) => !c.detail);
    const totalWeight = shown.reduce((s, { c }) => s + c.width, 0);
    const cols = shown.map(({ c, i }) => ({ header: c.header, kind: c.kind, index: i, width: (c.width / totalWeight) * tableWidth }));
    const x0 = this.left;
    const rowHeight = fontSize + 2 * pad + 1;

    doc.font('bold').fontSize(fontSize);
    const headerHeight = Math.max(...cols.map((c) => doc.heightOfString(c.header, { width: c.width - 2 * pad }))) + 2 * pad;

    const drawHeader = () => {
      const y = doc.y;
      doc.rect(x0, y, tableWidth, headerHeight).fill(HEADER_FILL);
      doc.fillColor('black').font('bold').fontSize(fontSize);
      let x = x0;
      for (const c of cols) {
        doc.text(c.header, x + pad, y + pad, { width: c.width - 2 * pad, align: c.kind === 'text' ? 'left' : 'right' });
        x += c.width;
      }
      doc.moveTo(x0, y + headerHeight).lineTo(x0 + tableWidth, y + headerHeight).lineWidth(0.5).strokeColor(RULE).stroke();
      doc.y = y + headerHeight;
    };

    const drawRow = (cells: Cell[], bold: boolean, stripe: boolean) => {
      if (doc.y + rowHeight > this.maxY) {
        doc.addPage();
        drawHeader();
      }
      const y = doc.y;
      if (stripe) doc.rect(x0, y, tableWidth, rowHeight).fill(STRIPE_FILL);
      if (bold) doc.moveTo(x0, y).lineTo(x0 + tableWidth, y).lineWidth(0.5).strokeColor(RULE).stroke();
      doc.fillColor('black').font(bold ? 'bold' : 'regular').fontSize(fontSize);
      let x = x0;
      for (const c of cols) {
        const text = this.fit(formatCell(cells[c.index] ?? null, c.kind, opts.withCurrency ?? false), c.width - 2 * pad);
        const tx = c.kind === 'text' ? x + pad : x + c.width - pad - doc.widthOfString(text);
        if (text) doc.text(text, tx, y + pad, { lineBreak: false });
        x += c.width;
      }
      doc.y = y + rowHeight;
    };

    this.ensureSpace(headerHeight + rowHeight * Math.min(3, section.rows.length + (section.total ? 1 : 0)));
    drawHeader();
    section.rows.forEach((row, i) => drawRow(row, false, i % 2 === 1));
    if (section.rows.length === 0) drawRow(['Không có số liệu'], false, false);
    if (section.total) drawRow(section.total, true, false);
    doc.moveTo(x0, doc.y).lineTo(x0 + tableWidth, doc.y).lineWidth(0.5).strokeColor(RULE).stroke();
    doc.y += 10;
  }

  /** `text`, cut with an ellipsis to fit `maxWidth` at the current font and size. */
  private fit(text: string, maxWidth: number): string {
    const { doc } = this;
    if (doc.widthOfString(text) <= maxWidth) return text;
    const chars = Array.from(text);
    let lo = 0;
    let hi = chars.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (doc.widthOfString(chars.slice(0, mid).join('') + ELLIPSIS) <= maxWidth) lo = mid;
      else hi = mid - 1;
    }
    return chars.slice(0, lo).join('').trimEnd() + ELLIPSIS;
  }

  /**
   * Horizontal bar charts side by side, one per entry: a label, a bar proportional to the
   * largest value of its chart, and the amount after the bar. Negative values draw no bar.
   */
  barCharts(charts: { title: string; bars: { label: string; value: number }[] }[]): void {
    const { doc } = this;
    const gutter = 24;
    const chartWidth = (this.width - gutter * (charts.length - 1)) / charts.length;
    const barHeight = 11;
    const step = barHeight + 6;
    const height = 18 + Math.max(1, ...charts.map((c) => c.bars.length)) * step + 6;
    this.ensureSpace(height);
    const top = doc.y;

    charts.forEach((chart, ci) => {
      const x = this.left + ci * (chartWidth + gutter);
      doc.font('bold').fontSize(9).fillColor('black').text(chart.title, x, top, { lineBreak: false });
      const labelWidth = chartWidth * 0.34;
      const valueWidth = 92;
      const barArea = chartWidth - labelWidth - valueWidth - 8;
      const max = Math.max(0, ...chart.bars.map((b) => b.value));
      let y = top + 18;
      if (chart.bars.length === 0) {
        doc.font('italic').fontSize(8).text('Không có số liệu', x, y, { lineBreak: false });
      }
      chart.bars.forEach((bar, bi) => {
        doc.font('regular').fontSize(7.5).fillColor('black');
        const label = this.fit(bar.label, labelWidth - 6);
        doc.text(label, x + labelWidth - 6 - doc.widthOfString(label), y + 2, { lineBreak: false });
        const length = max > 0 && bar.value > 0 ? (barArea * bar.value) / max : 0;
        if (length > 0) doc.rect(x + labelWidth, y, Math.max(length, 0.75), barHeight).fill(PALETTE[bi % PALETTE.length]!);
        doc.fillColor('black').font('regular').fontSize(7.5).text(formatVnd(bar.value), x + labelWidth + length + 4, y + 2, { lineBreak: false });
        y += step;
      });
      const axisBottom = top + 18 + Math.max(1, chart.bars.length) * step - 6;
      doc.moveTo(x + labelWidth, top + 15).lineTo(x + labelWidth, axisBottom).lineWidth(0.6).strokeColor(RULE).stroke();
    });
    doc.fillColor('black');
    doc.y = top + height;
  }

  /** Signature columns (titles, "(Ký, ghi rõ họ tên)"), spread across the page. */
  signatures(titles: string[]): void {
    const { doc } = this;
    this.ensureSpace(80);
    const top = doc.y + 10;
    const colWidth = this.width / titles.length;
    titles.forEach((title, i) => {
      const x = this.left + i * colWidth;
      doc.font('bold').fontSize(9.5).fillColor('black').text(title, x, top, { width: colWidth, align: 'center' });
      doc.font('italic').fontSize(8.5).text('(Ký, ghi rõ họ tên)', x, doc.y + 1, { width: colWidth, align: 'center' });
    });
    doc.y = top + 80;
  }

  /** Writes every page's footer (generated at, page i/n) and returns the document's bytes. */
  finish(): Promise<Buffer> {
    const { doc } = this;
    const range = doc.bufferedPageRange();
    const footer = `Báo cáo lập lúc ${formatInstant(this.meta.generatedAt)}`;
    for (let i = range.start; i < range.start + range.count; i++) {
      doc.switchToPage(i);
      // Below the bottom margin pdfkit would open a new page for the text: lift the margin first.
      doc.page.margins.bottom = 0;
      const y = doc.page.height - 30;
      doc.font('italic').fontSize(7.5).fillColor('#444444');
      doc.text(footer, this.left, y, { lineBreak: false });
      const pageLabel = `Trang ${i + 1}/${range.count}`;
      doc.text(pageLabel, this.left + this.width - doc.widthOfString(pageLabel), y, { lineBreak: false });
    }
    doc.end();
    return this.done;
  }
}

function formatCell(cell: Cell, kind: ColumnKind, withCurrency: boolean): string {
  if (cell === null) return '';
  if (typeof cell === 'string') return cell;
  if (kind === 'vnd') return withCurrency ? formatVnd(cell) : formatAmount(cell);
  return String(cell);
}

function roman(n: number): string {
  const numerals: [number, string][] = [[10, 'X'], [9, 'IX'], [5, 'V'], [4, 'IV'], [1, 'I']];
  let out = '';
  for (const [value, symbol] of numerals) {
    while (n >= value) {
      out += symbol;
      n -= value;
    }
  }
  return out;
}
