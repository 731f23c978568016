import type { Knex } from 'knex';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { IdParam, PaginationQuery, parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { AmountVnd } from '../fees/fees.schemas';
import { PersonalIdString } from '../students/students.schemas';
import { decideRefund, listRefunds, proposeRefund, type RefundRow } from './refunds.service';

const SchoolParams = z.object({ school_id: IdParam('sch') }).strict();
const RefundParams = z.object({ school_id: IdParam('sch'), refund_id: IdParam('rfd') }).strict();
const RefundBody = z
  .object({
    student_id: IdParam('per'),
    payee_personal_id: PersonalIdString,
    bank_bin: z.string().regex(/^\d{6}$/, 'must be a 6-digit bank BIN'),
    account_number: z.string().regex(/^[0-9A-Z]{4,19}$/, 'must be 4 to 19 digits or capital letters'),
    account_name: z.string().trim().min(1).max(100),
    amount_vnd: AmountVnd.min(1),
    reason: z.string().trim().min(3).max(500),
  })
  .strict();
const DecisionBody = z.object({ note: z.string().trim().min(3).max(500).optional() }).strict();
const ListQuery = PaginationQuery.extend({ status: z.enum(['proposed', 'approved', 'rejected']).optional() }).strict();

function renderRefund(r: RefundRow) {
  return {
    id: r.id,
    school_id: r.school_id,
    student_id: r.person_id,
    payee_person_id: r.payee_person_id,
    payee_relation: r.payee_relation,
    collection_account_id: r.collection_account_id,
    bank_bin: r.bank_bin,
    account_number: r.account_number,
    account_name: r.account_name,
    amount_vnd: parseVnd(r.amount_vnd),
    reason: r.reason,
    status: r.status,
    proposed_by: r.proposed_by,
    proposed_at: r.proposed_at.toISOString(),
    decided_by: r.decided_by,
    decided_at: r.decided_at?.toISOString() ?? null,
    decision_note: r.decision_note,
  };
}

export function refundRoutes(deps: { db: Knex; clock: Clock }): RouteDef[] {
  const ctx = (res: Parameters<RouteDef['handler']>[1]) => ({ db: deps.db, clock: deps.clock, principal: principalOf(res), requestId: res.locals.requestId as string | undefined });
  return [
    {
      method: 'post', path: '/v1/schools/:school_id/refunds', auth: 'user', idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const b = parseBody(RefundBody, req);
        const refund = await proposeRefund(ctx(res), school_id, {
          studentId: b.student_id, payeePersonalId: b.payee_personal_id, bankBin: b.bank_bin, accountNumber: b.account_number, accountName: b.account_name, amountVnd: b.amount_vnd, reason: b.reason,
        });
        res.status(201).json(renderRefund(refund));
      },
    },
    {
      method: 'get', path: '/v1/schools/:school_id/refunds', auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(ListQuery, req);
        const page = await listRefunds(ctx(res), school_id, { status: q.status }, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map(renderRefund), has_more: page.has_more });
      },
    },
    ...(['approve', 'reject'] as const).map((action): RouteDef => ({
      method: 'post', path: `/v1/schools/:school_id/refunds/:refund_id/${action}`, auth: 'user',
      handler: async (req, res) => {
        const { school_id, refund_id } = parseParams(RefundParams, req);
        const b = parseBody(DecisionBody, req);
        res.json(renderRefund(await decideRefund(ctx(res), school_id, refund_id, { approve: action === 'approve', note: b.note })));
      },
    })),
  ];
}
