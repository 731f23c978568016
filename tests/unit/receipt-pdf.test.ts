import { renderReceiptPdf, type ReceiptPdfInput } from '../../src/modules/receipts/receipts.pdf';
import type { ReceiptContent } from '../../src/modules/receipts/receipts.repository';
import { pdfText } from '../support/pdf-text';

/**
 * A receipt's text layer must carry every letter whatever the process rendered before: fontkit
 * caches glyphs per font, and a glyph first built as a component of another ("Ư" builds "U") has
 * no code points of its own, which once left letters out of later receipts' copied text.
 */
function receipt(studentName: string, note: string | null = null): ReceiptPdfInput {
  const content: ReceiptContent = {
    version: 1,
    title: 'BIÊN LAI THU TIỀN PHÍ, LỆ PHÍ',
    kind: 'original',
    template_code: '01BLP0-001',
    symbol: 'AA-26T',
    number: 42,
    related: null,
    school: { name: 'Trường Tiểu học Nguyễn Bỉnh Khiêm', address: 'Quận 1, TP. Hồ Chí Minh', tax_code: '0301234567' },
    payer_name: 'Vũ Hoàng Trí',
    student: { name: studentName, class_name: '3A1', personal_id_masked: '0792******26' },
    items: [{ description: 'Học phí tháng 11/2026', amount_vnd: 1_250_000 }],
    total_vnd: 1_250_000,
    total_in_words: 'Một triệu hai trăm năm mươi nghìn đồng',
    channel: 'Chuyển khoản / VietQR',
    bank_reference: 'FT26335000001',
    issued_at: '2026-11-30T03:00:00.000Z',
    lookup_code: 'ABCD-EFGH-JKLM',
    signing_key_id: 'key_1',
    note,
  };
  return { content, signature: 'c2lnbmF0dXJl', lookupUrl: 'http://localhost:3000/receipts/lookup/ABCD-EFGH-JKLM', cancelled: false };
}

const text = async (pdf: Buffer) => (await pdfText(pdf)).normalize('NFC');

describe('receipt PDF text layer', () => {
  it('keeps letters first built as another letter\'s component, on the shared-alphabet path', async () => {
    await renderReceiptPdf(receipt('Ưng Ửu Ơn'));
    const second = await text(await renderReceiptPdf(receipt('Trần Ngọc Tuấn Uyên')));
    expect(second).toContain('Trần Ngọc Tuấn Uyên');
    expect(second).toContain('Vũ Hoàng Trí');
  });

  it('keeps them on the path for characters outside the alphabet (a note with ✓)', async () => {
    await renderReceiptPdf(receipt('Ưng Ửu', 'Đã đối chiếu ✓'));
    const second = await text(await renderReceiptPdf(receipt('Tuấn Uyên', 'Đã đối chiếu ✓ Uyên')));
    expect(second).toContain('Tuấn Uyên');
    expect(second).toContain('✓ Uyên');
  });
});
