import { readFileSync } from 'node:fs';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import type { ReceiptContent } from './receipts.repository';

/**
 * The receipt as an A5 PDF: DejaVu Sans (a Unicode TTF from the npm registry, embedded and
 * subset by pdfkit) so every Vietnamese diacritic prints, the lookup QR drawn as vector squares
 * (no image encoding), and the signature's fingerprint in the footer.
 */
// Parsed once and shared by every document (pdfkit accepts a fontkit font in place of the file).
// Layout skips OpenType shaping: fontkit's shaper costs about a millisecond a word, most of a
// receipt's rendering time, and Vietnamese in NFC needs none (every letter with its diacritics is
// one precomposed glyph in DejaVu Sans); the only loss is kerning.
type Font = fontkit.Font;
type Glyph = ReturnType<Font['glyphForCodePoint']>;

function withoutShaping(font: Font): Font {
  const plain = Object.create(font) as Font;
  plain.layout = ((text: string) => {
    const glyphs: Glyph[] = [];
    for (const ch of text) glyphs.push(font.glyphForCodePoint(ch.codePointAt(0)!));
    // Fresh positions per call: pdfkit scales them in place.
    const positions = glyphs.map((g) => ({ xAdvance: g.advanceWidth, yAdvance: 0, xOffset: 0, yOffset: 0 }));
    return {
      glyphs,
      positions,
      get advanceWidth() {
        return positions.reduce((sum, p) => sum + p.xAdvance, 0);
      },
    };
  }) as unknown as Font['layout'];
  return plain;
}

let fonts: { regular: Font; bold: Font } | undefined;
function loadFonts() {
  fonts ??= {
    regular: withoutShaping(fontkit.create(readFileSync(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'))) as Font),
    bold: withoutShaping(fontkit.create(readFileSync(require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'))) as Font),
  };
  return fonts;
}

const formatVnd = (n: number) => `${new Intl.NumberFormat('vi-VN').format(n)} đ`;

function formatIssuedAt(iso: string): string {
  const parts = new Intl.DateTimeFormat('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).formatToParts(new Date(iso));
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
  const doc = new PDFDocument({ size: 'A5', margin: 32, info: { Title: `${c.title} ${c.symbol} số ${c.number}`, Author: c.school.name }, compress: true });
  doc.registerFont('regular', f.regular as unknown as ArrayBuffer);
  doc.registerFont('bold', f.bold as unknown as ArrayBuffer);
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
