import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseBody, parseParams, parseQuery } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { maskPersonalId } from '../../lib/personal-id';
import type { PopulationRegistry } from '../../integrations/population-registry/population-registry';
import type { Principal } from '../access/access.service';
import { renderInvoiceSummary } from '../invoices/invoice-render';
import { type ChipReadRow, listCardReaders, recordChipRead, registerCardReader } from './card-readers.service';
import {
  CardReaderBody, ChipReadBody, ConfirmLinkBody, LinkParams, LinkRequestBody, ReasonBody, SchoolLinkParams, SchoolLinksQuery, SchoolParams, StudentParams,
} from './guardians.schemas';
import * as svc from './guardians.service';

type Viewer = 'guardian' | 'staff';

/**
 * A link as its viewer may see it: the guardian sees their own personal ID in full and the
 * student's masked until the link is verified; staff of the student's school see the student's in
 * full and the guardian's masked (the chip read is where they check it).
 */
function renderLink(view: svc.LinkWithHistory, viewer: Viewer) {
  const { link } = view;
  const studentVisible = viewer === 'staff' || view.status === 'verified';
  return {
    id: link.id,
    status: view.status,
    relation: link.relation,
    verified_by: link.verified_by,
    guardian: {
      person_id: link.guardian_person_id,
      full_name: link.guardian_full_name,
      personal_id: viewer === 'guardian' ? link.guardian_personal_id : maskPersonalId(link.guardian_personal_id),
    },
    student: {
      person_id: link.student_person_id,
      full_name: link.student_full_name,
      personal_id: studentVisible ? link.student_personal_id : maskPersonalId(link.student_personal_id),
      date_of_birth: link.student_date_of_birth,
    },
    ends_on: link.ends_on,
    requested_at: link.requested_at.toISOString(),
    updated_at: link.updated_at.toISOString(),
    history: view.history.map((e) => ({
      from_status: e.from_status,
      to_status: e.to_status,
      actor_role: e.actor_role,
      school_id: e.at_school_id,
      evidence: e.evidence,
      note: e.note,
      occurred_at: e.occurred_at.toISOString(),
    })),
  };
}

function renderReader(r: { id: string; school_id: string; name: string; public_key: string; created_at: Date; revoked_at: Date | null }) {
  return { id: r.id, school_id: r.school_id, name: r.name, public_key: r.public_key, created_at: r.created_at.toISOString(), revoked_at: r.revoked_at?.toISOString() ?? null };
}

function renderChipRead(r: ChipReadRow) {
  return {
    id: r.id, school_id: r.school_id, reader_id: r.reader_id, personal_id_masked: maskPersonalId(r.personal_id), full_name: r.full_name, date_of_birth: r.date_of_birth,
    father_name: r.father_name, mother_name: r.mother_name, read_at: r.read_at.toISOString(), received_at: r.received_at.toISOString(),
  };
}

const OptionalReasonBody = z.object({ reason: z.string().trim().min(3).max(500).optional() }).strict();

export function guardianRoutes(deps: { db: Knex; clock: Clock; populationRegistry: PopulationRegistry }): RouteDef[] {
  const ctx = (req: Request, res: Response): svc.GuardianContext & { principal: Principal } => ({
    db: deps.db, clock: deps.clock, registry: deps.populationRegistry, principal: principalOf(res), requestId: res.locals.requestId as string | undefined,
  });
  return [
    {
      method: 'post', path: '/v1/me/guardian-links', auth: 'user', idempotent: true,
      handler: async (req, res) => {
        const body = parseBody(LinkRequestBody, req);
        const view = await svc.requestGuardianLink(ctx(req, res), { studentPersonalId: body.student_personal_id, studentDateOfBirth: body.student_date_of_birth });
        res.status(201).json(renderLink(view, 'guardian'));
      },
    },
    {
      method: 'get', path: '/v1/me/guardian-links', auth: 'user',
      handler: async (req, res) => {
        res.json({ data: (await svc.listMyLinks(ctx(req, res))).map((v) => renderLink(v, 'guardian')), has_more: false });
      },
    },
    {
      method: 'post', path: '/v1/me/guardian-links/:link_id/revoke', auth: 'user',
      handler: async (req, res) => {
        const { link_id } = parseParams(LinkParams, req);
        const body = parseBody(OptionalReasonBody, req);
        res.json(renderLink(await svc.revokeMyLink(ctx(req, res), link_id, body.reason), 'guardian'));
      },
    },
    {
      method: 'get', path: '/v1/me/students', auth: 'user',
      handler: async (req, res) => {
        const rows = await svc.listMyStudents(ctx(req, res));
        res.json({
          data: rows.map((s) => ({
            student_id: s.id, personal_id: s.personal_id, full_name: s.full_name, date_of_birth: s.date_of_birth,
            school: { id: s.school_id, name: s.school_name }, class: { id: s.class_id, name: s.class_name },
          })),
          has_more: false,
        });
      },
    },
    {
      method: 'get', path: '/v1/me/students/:student_id/statements', auth: 'user',
      handler: async (req, res) => {
        const { student_id } = parseParams(StudentParams, req);
        const statements = await svc.getWardStatements(ctx(req, res), student_id);
        res.json({ data: statements.map((s) => ({ ...s, invoices: s.invoices.map(renderInvoiceSummary) })), has_more: false });
      },
    },
    {
      method: 'get', path: '/v1/schools/:school_id/guardian-links', auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const q = parseQuery(SchoolLinksQuery, req);
        const page = await svc.listSchoolLinks(ctx(req, res), school_id, { status: q.status }, { limit: q.limit, startingAfter: q.starting_after });
        res.json({ data: page.data.map((v) => renderLink(v, 'staff')), has_more: page.has_more });
      },
    },
    {
      method: 'post', path: '/v1/schools/:school_id/guardian-links/:link_id/confirm', auth: 'user',
      handler: async (req, res) => {
        const { school_id, link_id } = parseParams(SchoolLinkParams, req);
        const body = parseBody(ConfirmLinkBody, req);
        res.json(renderLink(await svc.confirmLink(ctx(req, res), school_id, link_id, { chipReadId: body.chip_read_id, relation: body.relation, documentNote: body.document_note }), 'staff'));
      },
    },
    {
      method: 'post', path: '/v1/schools/:school_id/guardian-links/:link_id/reject', auth: 'user',
      handler: async (req, res) => {
        const { school_id, link_id } = parseParams(SchoolLinkParams, req);
        const body = parseBody(ReasonBody, req);
        res.json(renderLink(await svc.rejectLink(ctx(req, res), school_id, link_id, body.reason), 'staff'));
      },
    },
    {
      method: 'post', path: '/v1/schools/:school_id/guardian-links/:link_id/revoke', auth: 'user',
      handler: async (req, res) => {
        const { school_id, link_id } = parseParams(SchoolLinkParams, req);
        const body = parseBody(ReasonBody, req);
        res.json(renderLink(await svc.revokeLinkAtSchool(ctx(req, res), school_id, link_id, body.reason), 'staff'));
      },
    },
    {
      method: 'post', path: '/v1/schools/:school_id/card-readers', auth: 'user', idempotent: true,
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const body = parseBody(CardReaderBody, req);
        res.status(201).json(renderReader(await registerCardReader(ctx(req, res), school_id, { name: body.name, publicKey: body.public_key })));
      },
    },
    {
      method: 'get', path: '/v1/schools/:school_id/card-readers', auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        res.json({ data: (await listCardReaders(ctx(req, res), school_id)).map(renderReader), has_more: false });
      },
    },
    {
      method: 'post', path: '/v1/schools/:school_id/chip-reads', auth: 'user',
      handler: async (req, res) => {
        const { school_id } = parseParams(SchoolParams, req);
        const body = parseBody(ChipReadBody, req);
        res.status(201).json(renderChipRead(await recordChipRead(ctx(req, res), school_id, { readerId: body.reader_id, payload: body.payload, signature: body.signature })));
      },
    },
  ];
}
