import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { principalOf } from '../../http/auth';
import { ValidationError } from '../../http/errors';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery, toPage } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { ExceptionListQuery, ExceptionParams, ReportQuery, ResolveBody, SchoolParams, StatementUploadQuery } from './reconciliation.schemas';
import { dayReport, type ExceptionRow, importStatementFile, listExceptions, resolveException, type StatementImportRow } from './reconciliation.service';

const DAY_MS = 86_400_000;

function renderImport(r: StatementImportRow) {
  return {
    id: r.id,
    school_id: r.school_id,
    collection_account_id: r.collection_account_id,
    source: r.source,
    from_on: r.from_on,
    to_on: r.to_on,
    file_name: r.file_name,
    opening_balance_vnd: r.opening_balance_vnd === null ? null : parseVnd(r.opening_balance_vnd),
    closing_balance_vnd: r.closing_balance_vnd === null ? null : parseVnd(r.closing_balance_vnd),
    line_count: r.line_count,
    new_line_count: r.new_line_count,
    imported_at: new Date(r.imported_at).toISOString(),
  };
}

const renderException = (now: Date) => (e: ExceptionRow) => ({
  id: e.id,
  school_id: e.school_id,
  collection_account_id: e.collection_account_id,
  statement_on: e.statement_on,
  kind: e.outcome,
  line_id: e.line_id,
  payment_id: e.payment_id,
  amount_vnd: parseVnd(e.amount_vnd),
  description: e.description ?? null,
  details: e.details,
  age_days: Math.max(0, Math.floor((now.getTime() - new Date(e.created_at).getTime()) / DAY_MS)),
  status: e.status,
  created_at: new Date(e.created_at).toISOString(),
  resolution: e.resolution,
  resolution_note: e.resolution_note,
  resolution_payment_id: e.resolution_payment_id,
  resolved_at: e.resolved_at ? new Date(e.resolved_at).toISOString() : null,
});

export function reconciliationRoutes(deps: { db: Knex; clock: Clock; logger: Logger }): RouteDef[] {
  const ctx = (res: Parameters<RouteDef['handler']>[1]) => ({ ...deps, principal: principalOf(res), requestId: res.locals.requestId as string });
  return [
    {
      method: 'post',
      path: '/v1/schools/:school_id/statements',
      auth: 'user',
      body: 'text',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(StatementUploadQuery, req);
        if (typeof req.body !== 'string' || req.body.length === 0) throw new ValidationError('STATEMENT_MALFORMED', 'Send the statement file as the request body.', { param: 'body' });
        const row = await importStatementFile(ctx(res), school_id, { collectionAccountId: q.collection_account_id, format: q.format, content: req.body, fileName: q.file_name });
        res.status(201).json(renderImport(row));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/reconciliation-exceptions',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ExceptionListQuery, req);
        const rows = await listExceptions(ctx(res), school_id, { status: q.status }, { limit: q.limit, startingAfter: q.starting_after });
        const page = toPage(rows, q.limit);
        res.json({ data: page.data.map(renderException(deps.clock.now())), has_more: page.has_more });
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/reconciliation-exceptions/:exception_id/resolve',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, exception_id } = parseParams(ExceptionParams, req);
        const b = parseBody(ResolveBody, req);
        const resolution =
          b.action === 'attach' ? { action: b.action, invoiceId: b.invoice_id, studentId: b.student_id, amountVnd: b.amount_vnd, note: b.note } : b;
        const row = await resolveException(ctx(res), school_id, exception_id, resolution);
        res.json(renderException(deps.clock.now())(row));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/reconciliation-report',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ReportQuery, req);
        res.json(await dayReport(ctx(res), school_id, q.collection_account_id, q.date));
      },
    },
  ];
}
