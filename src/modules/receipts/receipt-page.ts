import { escapeHtml } from '../../lib/html';
import { formatVnd } from '../../lib/money';
import type { LookedUpReceipt } from './receipts.service';

/** The public lookup page (Vietnamese): the receipt, its status, the PDF link and how to check the signature. */
export function renderReceiptPage(found: LookedUpReceipt): string {
  const c = found.receipt.content;
  const e = escapeHtml;
  const cancelled = found.receipt.cancelled_at !== null;
  const items = c.items.map((i) => `<tr><td>${e(i.description)}</td><td class="n">${formatVnd(i.amount_vnd)}</td></tr>`).join('');
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(c.title)} ${e(c.symbol)} số ${c.number}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:1.5rem auto;padding:0 1rem;color:#1a202c}table{width:100%;border-collapse:collapse}td{padding:.35rem 0;border-bottom:1px solid #edf2f7}td.n{text-align:right;white-space:nowrap}.total td{font-weight:700}.muted{color:#4a5568;font-size:.9rem}.bad{color:#9b2c2c;font-weight:700}.ok{color:#22543d;font-weight:700}code{word-break:break-all}</style></head><body>
<p class="muted">${e(c.school.name)}<br>${e(c.school.address)}<br>Mã số thuế: ${e(c.school.tax_code)}</p>
<h1>${e(c.title)}</h1>
<p>Mẫu số ${e(c.template_code)} · Ký hiệu ${e(c.symbol)} · Số ${c.number}</p>
${cancelled ? `<p class="bad">Biên lai đã bị hủy: ${e(found.receipt.cancel_reason ?? '')}</p>` : ''}
${c.related ? `<p class="muted">${c.kind === 'replacement' ? 'Thay thế cho' : 'Điều chỉnh cho'} biên lai ký hiệu ${e(c.related.symbol)} số ${c.related.number}</p>` : ''}
<p>Người nộp tiền: <b>${e(c.payer_name)}</b><br>Học sinh: <b>${e(c.student.name)}</b>${c.student.class_name ? ` · Lớp ${e(c.student.class_name)}` : ''}<br>Số định danh cá nhân: ${e(c.student.personal_id_masked)}</p>
<table>${items}<tr class="total"><td>Tổng cộng</td><td class="n">${formatVnd(c.total_vnd)}</td></tr></table>
<p>Số tiền bằng chữ: <b>${e(c.total_in_words)}</b></p>
<p class="muted">Hình thức thanh toán: ${e(c.channel)}${c.bank_reference ? ` · Mã giao dịch: ${e(c.bank_reference)}` : ''}<br>Thời điểm lập: ${e(new Date(c.issued_at).toLocaleString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh' }))}</p>
<p><a href="/receipts/${e(c.lookup_code)}/pdf">Tải biên lai (PDF)</a> · <a href="/receipts/${e(c.lookup_code)}/json">Dữ liệu biên lai (JSON)</a></p>
<p>Chữ ký số: ${found.signatureValid ? '<span class="ok">hợp lệ</span>' : '<span class="bad">không hợp lệ</span>'} (Ed25519 trên nội dung JSON chuẩn hóa)</p>
<details><summary>Khóa công khai của trường</summary><pre>${e(found.publicKeyPem)}</pre><p>Chữ ký: <code>${e(found.receipt.signature)}</code></p></details>
</body></html>`;
}
