import type { Response } from 'express';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import type { AppDeps } from '../../app';
import { renderReport, type ReportFormat, type ReportKind } from './render';
import { closeMonth } from './month-close.service';
import { getAgeingReport, getDefaultersReport, getRevenueReport, type ScopeRequest } from './reports.service';
import type { AgeingReport, DefaultersReport, MonthlyRevenueReport } from './reports.types';
import { AsOfQuery, CityParams, CloseMonthBody, CloseParams, DistrictParams, RevenueQuery, SchoolParams } from './reports.schemas';

/** JSON straight from the report (or a closed month's stored bytes); other formats through the renderers. */
async function sendReport(res: Response, kind: ReportKind, report: MonthlyRevenueReport | AgeingReport | DefaultersReport, format: ReportFormat, fileName: string, stored: string | null = null) {
  res.set('cache-control', 'no-store');
  if (format === 'json' && stored !== null) {
    res.type('application/json; charset=utf-8').send(Buffer.from(stored, 'utf8'));
    return;
  }
  if (format === 'json') {
    res.json(report);
    return;
  }
  const rendered = await renderReport(kind, report, format);
  res.set('content-disposition', `attachment; filename="${fileName}.${rendered.fileExtension}"`).type(rendered.contentType).send(rendered.body);
}

function scopeName(request: ScopeRequest): string {
  if (request.level === 'school') return request.schoolId;
  return request.level === 'district' ? `quan-${request.districtCode}` : `thanh-pho-${request.cityCode}`;
}

export function reportRoutes(deps: AppDeps): RouteDef[] {
  const ctxOf = (res: Response) => ({ db: deps.db, clock: deps.clock, principal: principalOf(res) });
  const revenue = (scopeOf: (req: Parameters<RouteDef['handler']>[0]) => ScopeRequest): RouteDef['handler'] => async (req, res) => {
    const scope = scopeOf(req);
    const q = parseQuery(RevenueQuery, req);
    const { report, stored } = await getRevenueReport(ctxOf(res), scope, q.month);
    await sendReport(res, 'revenue', report, q.format, `bao-cao-thu-${scopeName(scope)}-${q.month}`, stored);
  };
  const ageing = (scopeOf: (req: Parameters<RouteDef['handler']>[0]) => ScopeRequest): RouteDef['handler'] => async (req, res) => {
    const scope = scopeOf(req);
    const q = parseQuery(AsOfQuery, req);
    const report = await getAgeingReport(ctxOf(res), scope, q.as_of);
    await sendReport(res, 'ageing', report, q.format, `tuoi-no-${scopeName(scope)}-${report.as_of}`);
  };
  const school = (req: Parameters<RouteDef['handler']>[0]): ScopeRequest => ({ level: 'school', schoolId: parseParams(SchoolParams, req).school_id });
  const district = (req: Parameters<RouteDef['handler']>[0]): ScopeRequest => ({ level: 'district', districtCode: parseParams(DistrictParams, req).district_code });
  const city = (req: Parameters<RouteDef['handler']>[0]): ScopeRequest => ({ level: 'city', cityCode: parseParams(CityParams, req).city_code });
  return [
    { method: 'get', path: '/v1/reports/schools/:school_id/revenue', auth: 'user', handler: revenue(school) },
    { method: 'get', path: '/v1/reports/districts/:district_code/revenue', auth: 'user', handler: revenue(district) },
    { method: 'get', path: '/v1/reports/cities/:city_code/revenue', auth: 'user', handler: revenue(city) },
    { method: 'get', path: '/v1/reports/schools/:school_id/ageing', auth: 'user', handler: ageing(school) },
    { method: 'get', path: '/v1/reports/districts/:district_code/ageing', auth: 'user', handler: ageing(district) },
    { method: 'get', path: '/v1/reports/cities/:city_code/ageing', auth: 'user', handler: ageing(city) },
    {
      method: 'get',
      path: '/v1/reports/schools/:school_id/defaulters',
      auth: 'user',
      body: 'none',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(AsOfQuery, req);
        const report = await getDefaultersReport(ctxOf(res), school_id, q.as_of);
        await sendReport(res, 'defaulters', report, q.format, `no-qua-han-${school_id}-${report.as_of}`);
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/months/:month/close',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, month } = parseParams(CloseParams, req);
        const b = parseBody(CloseMonthBody, req);
        const closed = await closeMonth({ ...ctxOf(res), requestId: res.locals.requestId as string }, school_id, month, { overrideReason: b.override_reason });
        res.status(201).json(closed);
      },
    },
  ];
}
