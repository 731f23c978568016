import { escapeHtml } from '../../lib/html';
import { maskPersonalId } from '../../lib/personal-id';
import { formatVnd, parseVnd } from '../../lib/money';
import { BANKS } from '../../lib/banks';
import { dueVnd, invoiceNumber } from './invoice-render';
import type { InvoiceView } from './invoices.service';

/**
 * The parent's invoice page (/pay/<token>): server-rendered, Vietnamese, readable on a phone,
 * self-contained (no scripts, no links into the rest of the service).
 */
const viDate = (date: string) => `${date.slice(8, 10)}/${date.slice(5, 7)}/${date.slice(0, 4)}`;

const STATUS_TEXT: Record<string, string> = {
  open: 'Chưa thanh toán',
  partially_paid: 'Đã thanh toán một phần',
  paid: 'Đã thanh toán đủ',
  void: 'Đã hủy',
};

function page(title: string, body: string): string {
  return `<!doctype html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f6f8;color:#1a202c}
main{max-width:30rem;margin:0 auto;padding:1rem}section{background:#fff;border-radius:12px;padding:1rem;margin-bottom:1rem;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h1{font-size:1.15rem;margin:.2rem 0}h2{font-size:1rem;margin:.2rem 0 .6rem}table{width:100%;border-collapse:collapse}td{padding:.35rem 0;border-bottom:1px solid #edf2f7;vertical-align:top}
td.n{text-align:right;white-space:nowrap}.total td{font-weight:700;border-bottom:none}.muted{color:#4a5568;font-size:.9rem}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:999px;font-size:.85rem;font-weight:600}.open,.partially_paid{background:#fefcbf;color:#744210}.paid{background:#c6f6d5;color:#22543d}.void{background:#fed7d7;color:#742a2a}
.qr svg{width:100%;max-width:18rem;height:auto;display:block;margin:0 auto}.code{font-family:ui-monospace,monospace;font-size:1.1rem;letter-spacing:.05em}</style></head>
<body><main>${body}</main></body></html>`;
}

export function renderPayPage(view: InvoiceView, qrSvg: string | null): string {
  const i = view.invoice;
  const due = dueVnd(i);
  const lines = view.lines
    .map((l) => {
      const exemption = parseVnd(l.exemption_vnd) > 0 ? `<div class="muted">Miễn giảm ${l.exemption_percent}%: −${formatVnd(parseVnd(l.exemption_vnd))}</div>` : '';
      return `<tr><td>${escapeHtml(l.description)}${exemption}</td><td class="n">${formatVnd(parseVnd(l.total_vnd))}</td></tr>`;
    })
    .join('');
  const bank = view.account ? BANKS.get(view.account.bank_bin) : undefined;
  const payment =
    due > 0 && view.account
      ? `<section><h2>Thanh toán</h2>
<p>Quét mã VietQR bằng ứng dụng ngân hàng, hoặc chuyển khoản với nội dung <span class="code">${escapeHtml(i.payment_code)}</span>.</p>
${qrSvg ? `<div class="qr">${qrSvg}</div>` : ''}
<table><tr><td>Ngân hàng</td><td class="n">${escapeHtml(bank?.name ?? view.account.bank_bin)}</td></tr>
<tr><td>Số tài khoản</td><td class="n code">${escapeHtml(view.account.account_number)}</td></tr>
<tr><td>Chủ tài khoản</td><td class="n">${escapeHtml(view.account.account_name)}</td></tr>
<tr><td>Số tiền</td><td class="n">${formatVnd(due)}</td></tr>
<tr><td>Nội dung chuyển khoản</td><td class="n code">${escapeHtml(i.payment_code)}</td></tr></table></section>`
      : i.status === 'paid'
        ? '<section><h2>Đã thanh toán đủ</h2><p>Cảm ơn quý phụ huynh. Thông báo này không còn khoản nào phải nộp.</p></section>'
        : i.status === 'void'
          ? `<section><h2>Thông báo đã hủy</h2><p>${escapeHtml(i.void_reason ?? '')}</p></section>`
          : '';
  return page(
    `Thông báo thu – ${view.school.name}`,
    `<section><div class="muted">${escapeHtml(view.school.name)}</div><h1>Thông báo thu ${escapeHtml(i.period_label)}</h1>
<span class="badge ${i.status}">${STATUS_TEXT[i.status] ?? i.status}</span>
<table><tr><td>Học sinh</td><td class="n">${escapeHtml(view.student.full_name)}</td></tr>
<tr><td>Số định danh</td><td class="n">${maskPersonalId(view.student.personal_id)}</td></tr>
<tr><td>Lớp</td><td class="n">${escapeHtml(view.student.class_name)}</td></tr>
${invoiceNumber(i) ? `<tr><td>Số thông báo</td><td class="n">${escapeHtml(invoiceNumber(i)!)}</td></tr>` : ''}
<tr><td>Hạn nộp</td><td class="n">${viDate(i.due_on)}</td></tr></table></section>
<section><h2>Các khoản thu</h2><table>${lines}
<tr class="total"><td>Tổng cộng</td><td class="n">${formatVnd(parseVnd(i.total_vnd))}</td></tr>
<tr><td>Đã nộp</td><td class="n">${formatVnd(parseVnd(i.paid_vnd))}</td></tr>
<tr class="total"><td>Còn phải nộp</td><td class="n">${formatVnd(due)}</td></tr></table></section>
${payment}<p class="muted">Trang này chỉ hiển thị thông báo thu của một học sinh. Không chia sẻ đường dẫn cho người khác.</p>`,
  );
}

export function renderPayNotFound(): string {
  return page('Không tìm thấy', '<section><h1>Không tìm thấy thông báo thu</h1><p>Đường dẫn không đúng hoặc đã hết hiệu lực. Vui lòng liên hệ nhà trường.</p></section>');
}
