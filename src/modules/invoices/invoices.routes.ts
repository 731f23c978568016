import type { Response } from 'express';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import QRCode from 'qrcode';
import { principalOf } from '../../http/auth';
import { ConflictError } from '../../http/errors';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { invoiceVietQr, renderInvoice, renderInvoiceSummary } from './invoice-render';
import { InvoiceParams, ListInvoicesQuery, PayParams, RunParams, SchoolParams, StartRunBody, StatementParams, VoidBody } from './invoices.schemas';
import * as svc from './invoices.service';
import { renderPayNotFound, renderPayPage } from './pay-page';

function renderRun(r: svc.InvoiceRunRow) {
  return {
    id: r.id,
    school_id: r.school_id,
    period: { kind: r.period_kind, label: r.period_label, start: r.period_start, end: r.period_end },
    due_on: r.due_on,
    status: r.status,
    total: r.total,
    done: r.done,
    failed: r.failed,
    errors: r.errors,
    failure_reason: r.failure_reason,
    created_at: r.created_at.toISOString(),
    started_at: r.started_at ? r.started_at.toISOString() : null,
    finished_at: r.finished_at ? r.finished_at.toISOString() : null,
  };
}

export function invoiceRoutes(deps: { db: Knex; clock: Clock; logger: Logger; publicBaseUrl: string }): RouteDef[] {
  const ctx = (res: Response): svc.InvoiceContext => ({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string });

  async function payableQr(res: Response, invoiceId: string): Promise<string> {
    const payload = invoiceVietQr(await svc.getInvoice(ctx(res), invoiceId));
    if (!payload) throw new ConflictError('INVOICE_NOT_PAYABLE', 'Only an open invoice of a school with a collection account has a QR code.');
    return payload;
  }

  return [
    {
      method: 'post',
      path: '/v1/schools/:school_id/invoice-runs',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(StartRunBody, req);
        const request: svc.PeriodRequest =
          b.period === 'month'
            ? { kind: 'month', month: b.month, dueOn: b.due_on }
            : b.period === 'term'
              ? { kind: 'term', label: b.label, start: b.start, end: b.end, dueOn: b.due_on }
              : { kind: 'year', academicYear: b.academic_year, dueOn: b.due_on };
        const run = await svc.startInvoiceRun(ctx(res), school_id, request);
        // The run executes after the response; its row records progress and outcome.
        setImmediate(() => {
          svc.executeInvoiceRun(deps.db, deps.clock, school_id, run.id).catch((err: unknown) => deps.logger.error({ run_id: run.id, err: err instanceof Error ? err.message : String(err) }, 'invoice run failed'));
        });
        res.status(202).setHeader('location', `/v1/schools/${school_id}/invoice-runs/${run.id}`);
        res.json(renderRun(run));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/invoice-runs/:run_id',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, run_id } = parseParams(RunParams, req);
        res.json(renderRun(await svc.getInvoiceRun(ctx(res), school_id, run_id)));
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/invoice-runs/:run_id/issue',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, run_id } = parseParams(RunParams, req);
        res.json(await svc.issueRunInvoices(ctx(res), school_id, run_id));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/invoices',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListInvoicesQuery, req);
        const page = await svc.listInvoices(ctx(res), school_id, { status: q.status, classId: q.class_id, studentId: q.student_id, runId: q.run_id }, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(renderInvoiceSummary), has_more: page.has_more });
      },
    },
    {
      method: 'get',
      path: '/v1/invoices/:invoice_id',
      auth: 'user',
      handler: async (req, res) => {
        const { invoice_id } = parseParams(InvoiceParams, req);
        res.json(renderInvoice(await svc.getInvoice(ctx(res), invoice_id), deps.publicBaseUrl));
      },
    },
    {
      method: 'post',
      path: '/v1/invoices/:invoice_id/issue',
      auth: 'user',
      handler: async (req, res) => {
        const { invoice_id } = parseParams(InvoiceParams, req);
        const issued = await svc.issueInvoice(ctx(res), invoice_id);
        res.json(renderInvoice(await svc.loadInvoiceView(deps.db, issued), deps.publicBaseUrl));
      },
    },
    {
      method: 'post',
      path: '/v1/invoices/:invoice_id/void',
      auth: 'user',
      handler: async (req, res) => {
        const { invoice_id } = parseParams(InvoiceParams, req);
        const b = parseBody(VoidBody, req);
        const voided = await svc.voidInvoice(ctx(res), invoice_id, b.reason);
        res.json(renderInvoice(await svc.loadInvoiceView(deps.db, voided), deps.publicBaseUrl));
      },
    },
    {
      method: 'get',
      path: '/v1/invoices/:invoice_id/qr.svg',
      auth: 'user',
      handler: async (req, res) => {
        const { invoice_id } = parseParams(InvoiceParams, req);
        const svg = await QRCode.toString(await payableQr(res, invoice_id), { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
        res.type('image/svg+xml').send(svg);
      },
    },
    {
      method: 'get',
      path: '/v1/invoices/:invoice_id/qr.png',
      auth: 'user',
      handler: async (req, res) => {
        const { invoice_id } = parseParams(InvoiceParams, req);
        const png = await QRCode.toBuffer(await payableQr(res, invoice_id), { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 400 });
        res.type('image/png').send(png);
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/students/:student_id/statement',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, student_id } = parseParams(StatementParams, req);
        const s = await svc.getStatement(ctx(res), school_id, student_id);
        res.json({ ...s, invoices: s.invoices.map(renderInvoiceSummary) });
      },
    },
    {
      method: 'get',
      path: '/pay/:token',
      auth: 'public',
      handler: async (req, res) => {
        const { token } = parseParams(PayParams, req);
        const view = await svc.findInvoiceForPayPage(deps.db, token);
        res.setHeader('cache-control', 'no-store');
        res.setHeader('referrer-policy', 'no-referrer');
        res.setHeader('x-robots-tag', 'noindex');
        if (!view) {
          res.status(404).type('html').send(renderPayNotFound());
          return;
        }
        const payload = invoiceVietQr(view);
        const svg = payload ? await QRCode.toString(payload, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }) : null;
        res.type('html').send(renderPayPage(view, svg));
      },
    },
  ];
}
