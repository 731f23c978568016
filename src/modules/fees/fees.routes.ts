import type { Response } from 'express';
import type { Knex } from 'knex';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { CalendarBody, FeeItemBody, FeePlanBody, ListQuery, MonthParams, OptionalEnrollmentBody, PlanItemsBody, PlanParams, PlanVersionBody, SchoolParams, VersionParams } from './fees.schemas';
import * as fees from './fees.service';

export function renderFeeItem(f: fees.FeeItemRow) {
  return {
    id: f.id,
    school_id: f.school_id,
    code: f.code,
    name: f.name,
    unit: f.unit,
    document_kind: f.document_kind,
    exemptible: f.exemptible,
    optional: f.optional,
    revenue_code: f.revenue_code,
  };
}

function renderPlan({ plan, versions }: fees.PlanWithVersions) {
  return {
    id: plan.id,
    school_id: plan.school_id,
    academic_year: plan.academic_year,
    grade: plan.grade,
    class_id: plan.class_id,
    name: plan.name,
    versions: versions.map((v) => ({
      id: v.id,
      version: v.version,
      effective_from: v.effective_from,
      locked: v.locked_at !== null,
      items: v.items.map((i) => ({ fee_item_id: i.fee_item_id, code: i.code, name: i.name, amount_vnd: parseVnd(i.amount_vnd) })),
    })),
  };
}

const toItems = (items: { fee_item_id: string; amount_vnd: number }[]) => items.map((i) => ({ feeItemId: i.fee_item_id, amountVnd: i.amount_vnd }));

export function feeRoutes(deps: { db: Knex; clock: Clock }): RouteDef[] {
  const ctx = (res: Response): fees.FeesContext => ({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string });
  return [
    {
      method: 'post',
      path: '/v1/schools/:school_id/fee-items',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const body = parseBody(FeeItemBody, req);
        res.status(201).json(renderFeeItem(await fees.createFeeItem(ctx(res), school_id, body)));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/fee-items',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListQuery, req);
        const page = await fees.listFeeItems(ctx(res), school_id, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(renderFeeItem), has_more: page.has_more });
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/fee-plans',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(FeePlanBody, req);
        const plan = await fees.createFeePlan(ctx(res), school_id, {
          academicYear: b.academic_year,
          grade: b.grade,
          classId: b.class_id,
          name: b.name,
          effectiveFrom: b.effective_from,
          items: toItems(b.items),
        });
        res.status(201).json(renderPlan(plan));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/fee-plans',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListQuery, req);
        const page = await fees.listPlans(ctx(res), school_id, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(renderPlan), has_more: page.has_more });
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/fee-plans/:plan_id',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, plan_id } = parseParams(PlanParams, req);
        res.json(renderPlan(await fees.getPlan(ctx(res), school_id, plan_id)));
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/fee-plans/:plan_id/versions',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id, plan_id } = parseParams(PlanParams, req);
        const b = parseBody(PlanVersionBody, req);
        res.status(201).json(renderPlan(await fees.addPlanVersion(ctx(res), school_id, plan_id, { effectiveFrom: b.effective_from, items: toItems(b.items) })));
      },
    },
    {
      method: 'put',
      path: '/v1/schools/:school_id/fee-plans/:plan_id/versions/:version_id/items',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, plan_id, version_id } = parseParams(VersionParams, req);
        const b = parseBody(PlanItemsBody, req);
        res.json(renderPlan(await fees.replacePlanVersionItems(ctx(res), school_id, plan_id, version_id, toItems(b.items))));
      },
    },
    {
      method: 'put',
      path: '/v1/schools/:school_id/calendar/:month',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, month } = parseParams(MonthParams, req);
        const b = parseBody(CalendarBody, req);
        const days = await fees.setSchoolDays(ctx(res), school_id, month, b.school_days);
        res.json({ school_id, month, school_days: days, count: days.length });
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/calendar/:month',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id, month } = parseParams(MonthParams, req);
        const days = await fees.getSchoolDays(ctx(res), school_id, month);
        res.json({ school_id, month, school_days: days, count: days.length });
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/optional-enrollments',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(OptionalEnrollmentBody, req);
        res.status(201).json(await fees.enrolInOptionalItem(ctx(res), school_id, { personalId: b.personal_id, feeItemId: b.fee_item_id, fromOn: b.from_on, toOn: b.to_on }));
      },
    },
  ];
}
