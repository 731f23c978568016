import type { Response } from 'express';
import type { Knex } from 'knex';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { renderReceiptPage } from './receipt-page';
import type { ReceiptView, SeriesRow } from './receipts.repository';
import { AdjustBody, CancelBody, LookupParams, ReceiptListQuery, ReceiptParams, ReplaceBody, SchoolParams, SeriesBody, SeriesParams, SeriesPatchBody, UsageQuery } from './receipts.schemas';
import * as svc from './receipts.service';
import { resendRejected } from './tax-outbox.service';

function renderSeries(s: SeriesRow & { next_number?: number }) {
  return { id: s.id, school_id: s.school_id, template_code: s.template_code, symbol: s.symbol, document_kind: s.document_kind, title: s.title, valid_from: s.valid_from, valid_to: s.valid_to, ...(s.next_number !== undefined ? { next_number: s.next_number } : {}), created_at: s.created_at.toISOString() };
}

function renderReceipt(r: ReceiptView, publicBaseUrl: string) {
  return {
    id: r.id,
    school_id: r.school_id,
    template_code: r.template_code,
    symbol: r.symbol,
    number: r.number,
    kind: r.kind,
    related_receipt_id: r.related_receipt_id,
    payment_id: r.payment_id,
    student_id: r.person_id,
    total_vnd: parseVnd(r.total_vnd),
    status: r.cancelled_at ? 'cancelled' : 'issued',
    cancellation: r.cancelled_at ? { cause: r.cancel_cause, reason: r.cancel_reason, cancelled_at: r.cancelled_at.toISOString() } : null,
    tax: { status: r.tax_status, acceptance_code: r.tax_acceptance_code, rejection_code: r.tax_rejection_code, rejection_reason: r.tax_rejection_reason, attempts: r.tax_attempts ?? 0 },
    lookup_code: r.lookup_code,
    lookup_url: svc.receiptLookupUrl(publicBaseUrl, r.lookup_code),
    issued_at: r.issued_at.toISOString(),
    content: r.content,
  };
}

/** Staff operations on receipts and series, the usage report, and the public lookup by code. */
export function receiptRoutes(deps: { db: Knex; clock: Clock; publicBaseUrl: string }): RouteDef[] {
  const ctx = (res: Response): svc.StaffCtx => ({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string });
  const receipt = (r: ReceiptView) => renderReceipt(r, deps.publicBaseUrl);
  return [
    {
      method: 'post',
      path: '/v1/schools/:school_id/receipt-series',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(SeriesBody, req);
        const series = await svc.createSeries(ctx(res), school_id, { templateCode: b.template_code, symbol: b.symbol, title: b.title, validFrom: b.valid_from, validTo: b.valid_to ?? null });
        res.status(201).json(renderSeries(series));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/receipt-series',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        res.json({ data: (await svc.listSeries(ctx(res), school_id)).map(renderSeries), has_more: false });
      },
    },
    {
      method: 'patch',
      path: '/v1/schools/:school_id/receipt-series/:series_id',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, series_id } = parseParams(SeriesParams, req);
        const b = parseBody(SeriesPatchBody, req);
        res.json(renderSeries(await svc.updateSeries(ctx(res), school_id, series_id, { title: b.title, validTo: b.valid_to })));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/receipts',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ReceiptListQuery, req);
        const page = await svc.listReceipts(ctx(res), school_id, { taxStatus: q.tax_status, status: q.status, limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(receipt), has_more: page.has_more });
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/receipts/:receipt_id',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, receipt_id } = parseParams(ReceiptParams, req);
        res.json(receipt(await svc.getReceipt(ctx(res), school_id, receipt_id)));
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/receipts/:receipt_id/cancel',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, receipt_id } = parseParams(ReceiptParams, req);
        const b = parseBody(CancelBody, req);
        res.json(receipt(await svc.cancelReceipt(ctx(res), school_id, receipt_id, b.reason)));
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/receipts/:receipt_id/replacements',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id, receipt_id } = parseParams(ReceiptParams, req);
        const b = parseBody(ReplaceBody, req);
        res.status(201).json(receipt(await svc.replaceReceipt(ctx(res), school_id, receipt_id, { reason: b.reason, payerName: b.payer_name })));
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/receipts/:receipt_id/adjustments',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id, receipt_id } = parseParams(ReceiptParams, req);
        const b = parseBody(AdjustBody, req);
        res.status(201).json(receipt(await svc.adjustReceipt(ctx(res), school_id, receipt_id, { amountVnd: b.amount_vnd, description: b.description, reason: b.reason })));
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/receipts/:receipt_id/tax-resend',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, receipt_id } = parseParams(ReceiptParams, req);
        await resendRejected(ctx(res), school_id, receipt_id);
        res.json(receipt(await svc.getReceipt(ctx(res), school_id, receipt_id)));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/receipt-usage',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(UsageQuery, req);
        res.json({ school_id, from: q.from, to: q.to, series: await svc.receiptUsageReport(ctx(res), school_id, q) });
      },
    },
    {
      method: 'get',
      path: '/receipt-signing-keys/:school_id',
      auth: 'public',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const key = await svc.schoolSigningKey(deps.db, school_id);
        res.json({ school_id, key_id: key.id, algorithm: 'Ed25519', public_key_pem: key.public_key_pem });
      },
    },
    {
      method: 'get',
      path: '/receipts/:lookup_code',
      auth: 'public',
      handler: async (req, res) => {
        const { lookup_code } = parseParams(LookupParams, req);
        const found = await svc.lookUpReceipt(deps, lookup_code);
        res.set('cache-control', 'no-store').type('html').send(renderReceiptPage(found));
      },
    },
    {
      method: 'get',
      path: '/receipts/:lookup_code/pdf',
      auth: 'public',
      handler: async (req, res) => {
        const { lookup_code } = parseParams(LookupParams, req);
        const found = await svc.lookUpReceipt(deps, lookup_code);
        const pdf = await svc.receiptPdf(found);
        const c = found.receipt.content;
        res.set('cache-control', 'no-store').set('content-disposition', `inline; filename="bien-lai-${c.symbol}-${c.number}.pdf"`).type('application/pdf').send(pdf);
      },
    },
    {
      method: 'get',
      path: '/receipts/:lookup_code/json',
      auth: 'public',
      handler: async (req, res) => {
        const { lookup_code } = parseParams(LookupParams, req);
        const found = await svc.lookUpReceipt(deps, lookup_code);
        res.set('cache-control', 'no-store').json({
          content: found.receipt.content,
          status: found.receipt.cancelled_at ? 'cancelled' : 'issued',
          cancel_reason: found.receipt.cancel_reason,
          signature: { algorithm: 'Ed25519', encoding: 'base64', value: found.receipt.signature, signed_data: 'canonical JSON of content (keys sorted, no whitespace, UTF-8)', public_key_pem: found.publicKeyPem, valid: found.signatureValid },
        });
      },
    },
  ];
}
