import { maskPersonalId } from '../../lib/personal-id';
import { parseVnd } from '../../lib/money';
import { encodeVietQr } from '../../lib/vietqr';
import type { InvoiceRow, InvoiceView } from './invoices.service';

/** Amount still to pay: only open and partially paid invoices have one. */
export function dueVnd(invoice: InvoiceRow): number {
  return invoice.status === 'open' || invoice.status === 'partially_paid' ? parseVnd(invoice.total_vnd) - parseVnd(invoice.credited_vnd) - parseVnd(invoice.paid_vnd) : 0;
}

export function invoiceNumber(invoice: InvoiceRow): string | null {
  return invoice.series && invoice.number ? `${invoice.series}/${String(invoice.number).padStart(6, '0')}` : null;
}

/**
 * The dynamic VietQR for an invoice that can be paid: amount due (tag 54), the payment code as
 * bill number (62/01) and a short ASCII purpose with the code (62/08), which bank apps copy into
 * the transfer description. Never the personal ID.
 */
export function invoiceVietQr(view: InvoiceView): string | null {
  const due = dueVnd(view.invoice);
  if (due <= 0 || !view.account) return null;
  return encodeVietQr({
    bankBin: view.account.bank_bin,
    accountNumber: view.account.account_number,
    amountVnd: due,
    billNumber: view.invoice.payment_code,
    purpose: `HP ${view.invoice.payment_code}`,
  });
}

export function renderInvoiceSummary(i: InvoiceRow) {
  return {
    id: i.id,
    school_id: i.school_id,
    student_id: i.person_id,
    class_id: i.class_id,
    run_id: i.run_id,
    number: invoiceNumber(i),
    status: i.status,
    period: { kind: i.period_kind, label: i.period_label, start: i.period_start, end: i.period_end },
    due_on: i.due_on,
    total_vnd: parseVnd(i.total_vnd),
    credited_vnd: parseVnd(i.credited_vnd),
    paid_vnd: parseVnd(i.paid_vnd),
    due_vnd: dueVnd(i),
    payment_code: i.payment_code,
    issued_at: i.issued_at ? i.issued_at.toISOString() : null,
  };
}

export function renderInvoice(view: InvoiceView, publicBaseUrl: string) {
  const i = view.invoice;
  return {
    ...renderInvoiceSummary(i),
    plan_version_id: i.plan_version_id,
    student: { id: i.person_id, full_name: view.student.full_name, personal_id_masked: maskPersonalId(view.student.personal_id), class_name: view.student.class_name },
    lines: view.lines.map((l) => ({
      line_no: l.line_no,
      kind: l.kind,
      fee_item_id: l.fee_item_id,
      fee_item_code: l.fee_item_code,
      description: l.description,
      quantity: l.quantity,
      unit_amount_vnd: parseVnd(l.unit_amount_vnd),
      gross_vnd: parseVnd(l.gross_vnd),
      exemption_percent: l.exemption_percent,
      exemption_vnd: parseVnd(l.exemption_vnd),
      total_vnd: parseVnd(l.total_vnd),
      reason_code: l.reason_code,
    })),
    vietqr_payload: invoiceVietQr(view),
    pay_url: i.status === 'draft' ? null : `${publicBaseUrl}/pay/${i.pay_token}`,
    voided_at: i.voided_at ? i.voided_at.toISOString() : null,
    void_reason: i.void_reason,
    created_at: i.created_at.toISOString(),
  };
}
