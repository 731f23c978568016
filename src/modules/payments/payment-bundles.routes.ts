import type { Response } from 'express';
import type { Knex } from 'knex';
import QRCode from 'qrcode';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { IdParam, parseBody, parseParams } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { type BundleContext, type BundleView, bundleDueVnd, bundleVietQr, createPaymentBundle, getPaymentBundle, MAX_BUNDLE_INVOICES } from './payment-bundles.service';

const BundleBody = z
  .object({ invoice_ids: z.array(IdParam('inv')).min(1).max(MAX_BUNDLE_INVOICES) })
  .strict()
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.invoice_ids.forEach((id, n) => {
      if (seen.has(id)) ctx.addIssue({ code: 'custom', path: ['invoice_ids', n], message: 'must not repeat an invoice' });
      seen.add(id);
    });
  });
const BundleParams = z.object({ bundle_id: IdParam('pbd') }).strict();

const invoiceNumber = (i: BundleView['items'][number]) => (i.series && i.number ? `${i.series}/${String(i.number).padStart(6, '0')}` : null);

async function renderBundle(view: BundleView) {
  const b = view.bundle;
  const payload = bundleVietQr(view);
  const paidVnd = view.payments.reduce((sum, p) => sum + p.amount_vnd, 0);
  const due = bundleDueVnd(view);
  const students = [...new Set(view.items.map((i) => i.person_id))].map((personId) => {
    const mine = view.items.filter((i) => i.person_id === personId);
    return { student_id: personId, full_name: mine[0]!.full_name, planned_vnd: mine.reduce((sum, i) => sum + i.planned_vnd, 0) };
  });
  return {
    id: b.id,
    school: view.school,
    payment_code: b.code,
    // Settled when the chosen invoices ask nothing more (whatever paid them).
    status: due === 0 ? 'paid' : view.payments.length > 0 ? 'partially_paid' : 'awaiting_payment',
    total_vnd: Number(b.total_vnd),
    due_vnd: due,
    paid_vnd: paidVnd,
    transfer_description: `HP ${b.code}`,
    account: view.account,
    vietqr_payload: payload,
    vietqr_svg: payload ? await QRCode.toString(payload, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }) : null,
    allocation_rule: 'Tiền nhận được chia theo đúng thứ tự dưới đây (con lớn trước, hóa đơn đến hạn sớm trước), mỗi hóa đơn tối đa số tiền còn phải nộp. Chuyển thiếu: các hóa đơn cuối danh sách chưa được thanh toán đủ. Chuyển thừa: tiền thừa trả tiếp các hóa đơn khác còn nợ của các con; phần còn lại được giữ làm tiền dư của con đầu tiên trong danh sách và tự động trừ vào hóa đơn kỳ sau.',
    students,
    allocation_plan: view.items.map((i) => ({
      position: i.position,
      student_id: i.person_id,
      student_name: i.full_name,
      invoice_id: i.invoice_id,
      invoice_number: invoiceNumber(i),
      period_label: i.period_label,
      due_on: i.due_on,
      planned_vnd: i.planned_vnd,
      invoice_status: i.status,
      due_vnd: i.due_vnd,
    })),
    payments: view.payments.map((p) => ({ id: p.id, amount_vnd: p.amount_vnd, occurred_at: p.occurred_at ? p.occurred_at.toISOString() : null, recorded_at: p.recorded_at.toISOString() })),
    created_at: b.created_at.toISOString(),
  };
}

/** Combined payments for guardians (`/v1/me/payment-bundles`). */
export function paymentBundleRoutes(deps: { db: Knex; clock: Clock }): RouteDef[] {
  const ctx = (res: Response): BundleContext => ({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string | undefined });
  return [
    {
      method: 'post', path: '/v1/me/payment-bundles', auth: 'user', idempotent: true,
      handler: async (req, res) => {
        const body = parseBody(BundleBody, req);
        res.status(201).json(await renderBundle(await createPaymentBundle(ctx(res), body.invoice_ids)));
      },
    },
    {
      method: 'get', path: '/v1/me/payment-bundles/:bundle_id', auth: 'user',
      handler: async (req, res) => {
        const { bundle_id } = parseParams(BundleParams, req);
        res.json(await renderBundle(await getPaymentBundle(ctx(res), bundle_id)));
      },
    },
  ];
}
