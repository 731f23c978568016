import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import { withoutShaping } from '../../lib/unshaped-font';
import { formatVnd } from '../../lib/money';
import type { ReceiptContent } from './receipts.repository';

/**
 * The receipt as an A5 PDF: DejaVu Sans (a Unicode TTF from the npm registry, embedded and
 * subset by pdfkit) so every Vietnamese diacritic prints, the lookup QR drawn as vector squares
 * (no image encoding), and the signature's fingerprint in the footer.
 */
// Parsed once and shared by every document (pdfkit accepts a fontkit font in place of the file),
// laid out without OpenType shaping (src/lib/unshaped-font.ts).
type Font = fontkit.Font;

/**
 * Every document would otherwise build and encode its own font subset (fontkit), the costliest
 * step of a receipt. Receipts use a known alphabet (ASCII and Vietnamese letters), so each font's
 * subset for that alphabet is encoded once and the same bytes, widths and ToUnicode entries are
 * given to every document. Text with a character outside the alphabet takes pdfkit's usual path.
 */
const ALPHABET = (() => {
  const cps = new Set<number>();
  const add = (from: number, to: number) => {
    for (let c = from; c <= to; c++) cps.add(c);
  };
  add(0x20, 0x7e);
  add(0xc0, 0xc3); add(0xc8, 0xca); add(0xcc, 0xcd); add(0xd2, 0xd5); add(0xd9, 0xda); add(0xdd, 0xdd);
  add(0xe0, 0xe3); add(0xe8, 0xea); add(0xec, 0xed); add(0xf2, 0xf5); add(0xf9, 0xfa); add(0xfd, 0xfd);
  for (const c of [0x102, 0x103, 0x110, 0x111, 0x128, 0x129, 0x168, 0x169, 0x1a0, 0x1a1, 0x1af, 0x1b0, 0x2013, 0x2014, 0x2018, 0x2019, 0x201c, 0x201d, 0x2026, 0x20ab]) cps.add(c);
  add(0x1ea0, 0x1ef9);
  return cps;
})();

interface FixedSubset {
  gidOf: Map<number, number>;
  /** The subset font file, already deflated (its stream is written as is, with /Filter /FlateDecode). */
  deflated: Buffer;
  widths: number[];
  unicode: number[][];
}

function buildFixedSubset(font: Font): FixedSubset {
  const scale = 1000 / font.unitsPerEm;
  const subset = font.createSubset();
  const gidOf = new Map<number, number>([[0, 0]]);
  const widths = [font.getGlyph(0).advanceWidth * scale];
  const unicode: number[][] = [[0]];
  for (const cp of ALPHABET) {
    const glyph = font.glyphForCodePoint(cp);
    if (glyph.id === 0 || gidOf.has(glyph.id)) continue;
    // fontkit returns the glyph's id in the subset (its typings say boolean).
    const gid = subset.includeGlyph(glyph) as unknown as number;
    gidOf.set(glyph.id, gid);
    widths[gid] = glyph.advanceWidth * scale;
    unicode[gid] = [cp];
  }
  return { gidOf, deflated: deflateSync(subset.encode()), widths, unicode };
}

interface LoadedFont {
  font: Font;
  fixed: FixedSubset;
}

let fonts: { regular: LoadedFont; bold: LoadedFont } | undefined;
function loadFonts() {
  const load = (file: string): LoadedFont => {
    const font = withoutShaping(fontkit.create(readFileSync(require.resolve(`dejavu-fonts-ttf/ttf/${file}`))) as Font);
    return { font, fixed: buildFixedSubset(font) };
  };
  fonts ??= { regular: load('DejaVuSans.ttf'), bold: load('DejaVuSans-Bold.ttf') };
  return fonts;
}

/** pdfkit's embedded font for the current document, given the shared subset (pdfkit internals: subset, widths, unicode). */
function useFixedSubset(doc: PDFKit.PDFDocument, fixed: FixedSubset): void {
  const internals = doc as unknown as { _font: { subset: unknown; widths: number[]; unicode: number[][]; embed(): void }; ref(data?: object): unknown };
  const embedded = internals._font;
  embedded.subset = { includeGlyph: (id: number) => fixed.gidOf.get(id) ?? 0, encode: () => fixed.deflated };
  embedded.widths = fixed.widths.slice();
  embedded.unicode = fixed.unicode.slice();
  // The font file is the first object embed() makes: made with /Filter set, pdfkit writes the
  // pre-deflated bytes as they are instead of deflating the same font again in every document.
  const embed = embedded.embed.bind(embedded);
  embedded.embed = () => {
    const ref = internals.ref;
    internals.ref = (data?: object) => {
      internals.ref = ref;
      return ref.call(doc, { ...data, Filter: 'FlateDecode' });
    };
    embed();
  };
}

function withinAlphabet(value: unknown): boolean {
  if (typeof value === 'string') {
    for (const ch of value) if (!ALPHABET.has(ch.codePointAt(0)!)) return false;
    return true;
  }
  if (value && typeof value === 'object') return Object.values(value).every(withinAlphabet);
  return true;
}

const issuedAtFormat = new Intl.DateTimeFormat('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });

function formatIssuedAt(iso: string): string {
  const parts = issuedAtFormat.formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('hour')}:${get('minute')} ngày ${get('day')}/${get('month')}/${get('year')}`;
}

export interface ReceiptPdfInput {
  content: ReceiptContent;
  signature: string;
  lookupUrl: string;
  cancelled: boolean;
}

export function renderReceiptPdf(input: ReceiptPdfInput): Promise<Buffer> {
  const { content: c } = input;
  const f = loadFonts();
  // No default font: pdfkit would load its Helvetica metrics for every document, unused.
  const doc = new PDFDocument({ size: 'A5', margin: 32, font: null as unknown as string, info: { Title: `${c.title} ${c.symbol} số ${c.number}`, Author: c.school.name }, compress: true });
  doc.registerFont('regular', f.regular.font as unknown as ArrayBuffer);
  doc.registerFont('bold', f.bold.font as unknown as ArrayBuffer);
  if (withinAlphabet(input.content) && withinAlphabet(input.lookupUrl) && withinAlphabet(input.signature)) {
    doc.font('regular');
    useFixedSubset(doc, f.regular.fixed);
    doc.font('bold');
    useFixedSubset(doc, f.bold.fixed);
  }
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;

  doc.font('bold').fontSize(10).text(c.school.name, left, 32, { width: width - 110 });
  doc.font('regular').fontSize(8).text(`Địa chỉ: ${c.school.address}`, { width: width - 110 });
  doc.text(`Mã số thuế: ${c.school.tax_code}`, { width: width - 110 });
  doc.font('regular').fontSize(8).text(`Mẫu số: ${c.template_code}`, left + width - 105, 32, { width: 105, align: 'right' });
  doc.text(`Ký hiệu: ${c.symbol}`, { width: 105, align: 'right' });
  doc.font('bold').text(`Số: ${String(c.number).padStart(7, '0')}`, { width: 105, align: 'right' });

  doc.moveDown(1.5);
  doc.font('bold').fontSize(14).text(c.title, left, Math.max(doc.y, 100), { width, align: 'center' });
  if (c.kind !== 'original' && c.related) {
    const what = c.kind === 'replacement' ? 'Thay thế cho biên lai' : 'Điều chỉnh cho biên lai';
    doc.font('regular').fontSize(8).text(`${what} ký hiệu ${c.related.symbol} số ${c.related.number}`, { width, align: 'center' });
  }
  if (input.cancelled) doc.font('bold').fontSize(11).fillColor('#b00020').text('ĐÃ HỦY', { width, align: 'center' }).fillColor('black');
  doc.moveDown(0.8);

  doc.font('regular').fontSize(9);
  const row = (label: string, value: string) => {
    doc.font('regular').text(`${label}: `, { continued: true }).font('bold').text(value);
  };
  row('Người nộp tiền', c.payer_name);
  row('Học sinh', c.student.name);
  row('Lớp', c.student.class_name ?? '');
  row('Số định danh cá nhân', c.student.personal_id_masked);
  row('Hình thức thanh toán', c.channel);
  if (c.bank_reference) row('Mã giao dịch ngân hàng', c.bank_reference);
  doc.moveDown(0.6);

  // Items table.
  const amountWidth = 90;
  doc.font('bold').fontSize(9).text('Khoản thu', left, doc.y, { width: width - amountWidth, continued: false });
  const headerY = doc.y - doc.currentLineHeight();
  doc.text('Số tiền', left + width - amountWidth, headerY, { width: amountWidth, align: 'right' });
  doc.moveTo(left, doc.y + 2).lineTo(left + width, doc.y + 2).lineWidth(0.5).stroke();
  doc.moveDown(0.3);
  doc.font('regular');
  for (const item of c.items) {
    const y = doc.y;
    doc.text(item.description, left, y, { width: width - amountWidth - 6 });
    const after = doc.y;
    doc.text(formatVnd(item.amount_vnd), left + width - amountWidth, y, { width: amountWidth, align: 'right' });
    doc.y = Math.max(after, doc.y);
  }
  doc.moveTo(left, doc.y + 2).lineTo(left + width, doc.y + 2).stroke();
  doc.moveDown(0.3);
  const totalY = doc.y;
  doc.font('bold').text('Tổng cộng', left, totalY, { width: width - amountWidth });
  doc.text(formatVnd(c.total_vnd), left + width - amountWidth, totalY, { width: amountWidth, align: 'right' });
  doc.moveDown(0.4);
  doc.font('regular').text('Số tiền bằng chữ: ', left, doc.y, { width, continued: true }).font('bold').text(c.total_in_words);
  if (c.note) doc.font('regular').fontSize(8).text(c.note, { width });
  doc.moveDown(0.6);
  doc.font('regular').fontSize(9).text(`Thời điểm lập: ${formatIssuedAt(c.issued_at)}`, { width });

  // Lookup QR and code, bottom left; signature, bottom right.
  const qr = QRCode.create(input.lookupUrl, { errorCorrectionLevel: 'M' });
  const size = qr.modules.size;
  const qrBox = 86;
  const cell = qrBox / size;
  const qrY = doc.page.height - doc.page.margins.bottom - qrBox - 18;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (qr.modules.get(y, x)) doc.rect(left + x * cell, qrY + y * cell, cell + 0.05, cell + 0.05);
    }
  }
  doc.fill('black');
  doc.font('regular').fontSize(7).text(`Mã tra cứu: ${c.lookup_code}`, left, qrY + qrBox + 4, { width: 200, lineBreak: false });
  doc.fontSize(7).text('Tra cứu và tải biên lai tại:', left + qrBox + 10, qrY + 4, { width: width - qrBox - 10 });
  doc.text(input.lookupUrl, { width: width - qrBox - 10 });
  doc.moveDown(0.5);
  doc.font('bold').text(`Ký số bởi: ${c.school.name}`, { width: width - qrBox - 10 });
  doc.font('regular').text(`Chữ ký (Ed25519, khóa ${c.signing_key_id.slice(0, 13)}…): ${input.signature.slice(0, 24)}…`, { width: width - qrBox - 10 });

  doc.end();
  return done;
}
