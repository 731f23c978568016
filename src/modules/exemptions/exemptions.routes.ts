import type { Response } from 'express';
import type { Knex } from 'knex';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { DecisionBody, DiscountBody, ExemptionParams, ListExemptionsQuery, ListQuery, ProposeExemptionBody, SchoolParams, SiblingRuleBody } from './exemptions.schemas';
import * as svc from './exemptions.service';

function renderExemption(e: svc.ExemptionRow) {
  return {
    id: e.id,
    school_id: e.school_id,
    student_id: e.person_id,
    category: e.category,
    percent: e.percent,
    valid_from: e.valid_from,
    valid_to: e.valid_to,
    evidence_ref: e.evidence_ref,
    status: e.status,
    proposed_by: e.proposed_by,
    proposed_at: e.proposed_at.toISOString(),
    decided_by: e.decided_by,
    decided_at: e.decided_at ? e.decided_at.toISOString() : null,
    decision_note: e.decision_note,
  };
}

function renderDiscount(d: svc.DiscountRow) {
  return {
    id: d.id,
    school_id: d.school_id,
    student_id: d.person_id,
    fee_item_id: d.fee_item_id,
    percent: d.percent === null ? null : Number(d.percent),
    amount_vnd: d.amount_vnd === null ? null : parseVnd(d.amount_vnd),
    reason_code: d.reason_code,
    valid_from: d.valid_from,
    valid_to: d.valid_to,
  };
}

export function exemptionRoutes(deps: { db: Knex; clock: Clock }): RouteDef[] {
  const ctx = (res: Response): svc.ExemptionContext => ({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string });
  const decide = (decision: 'approved' | 'rejected'): RouteDef['handler'] => async (req, res) => {
    const { school_id, exemption_id } = parseParams(ExemptionParams, req);
    const b = parseBody(DecisionBody, req);
    res.json(renderExemption(await svc.decideExemption(ctx(res), school_id, exemption_id, decision, b.note)));
  };
  return [
    {
      method: 'post',
      path: '/v1/schools/:school_id/exemptions',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(ProposeExemptionBody, req);
        const row = await svc.proposeExemption(ctx(res), school_id, {
          personalId: b.personal_id,
          category: b.category,
          percent: b.percent,
          validFrom: b.valid_from,
          validTo: b.valid_to,
          evidenceRef: b.evidence_ref,
        });
        res.status(201).json(renderExemption(row));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/exemptions',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListExemptionsQuery, req);
        const page = await svc.listExemptions(ctx(res), school_id, { limit: q.limit, startingAfter: q.starting_after, status: q.status });
        res.json({ data: page.data.map(renderExemption), has_more: page.has_more });
      },
    },
    { method: 'post', path: '/v1/schools/:school_id/exemptions/:exemption_id/approve', auth: 'user', handler: decide('approved') },
    { method: 'post', path: '/v1/schools/:school_id/exemptions/:exemption_id/reject', auth: 'user', handler: decide('rejected') },
    {
      method: 'post',
      path: '/v1/schools/:school_id/discounts',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(DiscountBody, req);
        const row = await svc.grantDiscount(ctx(res), school_id, {
          personalId: b.personal_id,
          feeItemId: b.fee_item_id,
          percent: b.percent,
          amountVnd: b.amount_vnd,
          reasonCode: b.reason_code,
          validFrom: b.valid_from,
          validTo: b.valid_to,
        });
        res.status(201).json(renderDiscount(row));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/discounts',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListQuery, req);
        const page = await svc.listDiscounts(ctx(res), school_id, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(renderDiscount), has_more: page.has_more });
      },
    },
    {
      method: 'post',
      path: '/v1/schools/:school_id/sibling-rules',
      auth: 'user',
      idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(SiblingRuleBody, req);
        const row = await svc.createSiblingRule(ctx(res), school_id, { feeItemId: b.fee_item_id, fromChild: b.from_child, percent: b.percent, reasonCode: b.reason_code, validFrom: b.valid_from, validTo: b.valid_to });
        res.status(201).json(renderSiblingRule(row));
      },
    },
    {
      method: 'get',
      path: '/v1/schools/:school_id/sibling-rules',
      auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        res.json({ data: (await svc.listSiblingRules(ctx(res), school_id)).map(renderSiblingRule), has_more: false });
      },
    },
  ];
}

function renderSiblingRule(r: svc.SiblingRuleRow) {
  return {
    id: r.id, school_id: r.school_id, fee_item_id: r.fee_item_id, from_child: r.from_child, percent: Number(r.percent), reason_code: r.reason_code,
    valid_from: r.valid_from, valid_to: r.valid_to, created_by: r.created_by, created_at: r.created_at.toISOString(),
  };
}
