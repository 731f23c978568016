import type { Knex } from 'knex';
import { AppError, ConflictError, NotFoundError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import { type Clock, vietnamDate } from '../../lib/clock';
import { isUniqueViolation } from '../../lib/pg-errors';
import { type PopulationRegistry, RegistryUnavailableError } from '../../integrations/population-registry/population-registry';
import { isGuardianOf, type Principal, requireSchoolRole, type StaffRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { buildStatement } from '../invoices/invoices.service';
import * as repo from './guardians.repository';

/**
 * Guardian links (DESIGN 4): a signed-in person asks to be linked to a student; the population
 * registry verifies the link at once when it records them as father, mother or legal guardian;
 * otherwise the link waits until school staff confirm it in person with a signed chip-card read of
 * the guardian's ID card, or reject it. Links are revoked by staff or by the guardian, and end on
 * the student's 18th birthday. Every transition is an insert-only event: who, when, what evidence.
 */
export interface GuardianContext {
  db: Knex;
  clock: Clock;
  registry: PopulationRegistry;
  principal: Principal;
  requestId?: string;
}

const STAFF: StaffRole[] = ['accountant', 'school_admin'];
/** A chip read older than this cannot confirm a link: the guardian must be at the desk. */
export const CHIP_READ_CONFIRM_WINDOW_MS = 30 * 60 * 1000;

export type EffectiveStatus = repo.LinkStatus | 'ended';

/** A verified link of a student who has turned 18 reads as `ended`: the student is their own payer. */
export function effectiveStatus(link: Pick<repo.LinkRow, 'status' | 'ends_on'>, today: string): EffectiveStatus {
  return link.status === 'verified' && today >= link.ends_on ? 'ended' : link.status;
}

const linkNotFound = () => new NotFoundError('GUARDIAN_LINK_NOT_FOUND', 'No such guardian link.', 'link_id');

/** A guardian asks to be linked to a student by the student's personal ID and date of birth. */
export async function requestGuardianLink(ctx: GuardianContext, input: { studentPersonalId: string; studentDateOfBirth: string }): Promise<LinkWithHistory> {
  const now = ctx.clock.now();
  const today = vietnamDate(now);
  const student = await repo.findEnrolledStudent(ctx.db, input.studentPersonalId);
  // Unknown student and wrong birth date answer alike, so the endpoint cannot probe who is enrolled.
  if (!student || student.date_of_birth !== input.studentDateOfBirth || student.id === ctx.principal.personId) {
    throw new UnprocessableError('STUDENT_NOT_MATCHED', 'No enrolled student has this personal ID and date of birth.', 'student_personal_id');
  }
  if (effectiveStatus({ status: 'verified', ends_on: adultOn(student.date_of_birth) }, today) === 'ended') {
    throw new UnprocessableError('STUDENT_IS_ADULT', 'The student is 18 or older and pays for themself; no guardian can be linked.', 'student_personal_id');
  }
  let relatives;
  try {
    relatives = await ctx.registry.findRelatives(student.personal_id);
  } catch (e) {
    if (e instanceof RegistryUnavailableError) throw new AppError(502, 'api_error', 'REGISTRY_UNAVAILABLE', 'The population registry could not be reached. Try again shortly.');
    throw e;
  }
  const match = relatives?.find((r) => r.personalId === ctx.principal.personalId);
  const linkId = await ctx.db.transaction(async (trx) => {
    let id: string;
    try {
      id = await repo.insertLink(trx, {
        guardian_person_id: ctx.principal.personId,
        student_person_id: student.id,
        relation: match?.relation ?? null,
        status: match ? 'verified' : 'pending',
        verified_by: match ? 'population_registry' : null,
        at: now,
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('GUARDIAN_LINK_EXISTS', 'You already have a pending or verified link to this student.');
      throw e;
    }
    await repo.insertEvent(trx, { link_id: id, from_status: null, to_status: 'pending', actor_person_id: ctx.principal.personId, actor_role: 'guardian', at_school_id: null, note: null, occurred_at: now });
    if (match) {
      await repo.insertEvent(trx, {
        link_id: id, from_status: 'pending', to_status: 'verified', actor_person_id: ctx.principal.personId, actor_role: 'guardian', at_school_id: null, note: null, occurred_at: now,
        evidence: { source: 'population_registry', relation: match.relation, checked_at: now.toISOString() },
      });
    }
    return id;
  });
  return viewOf(ctx.db, linkId, now);
}

/** The 18th birthday, as PostgreSQL's `date + interval '18 years'` gives it (29 February -> 28 February in a common year). */
export function adultOn(dateOfBirth: string): string {
  const [y, m, d] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const year = y + 18;
  const lastDay = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return `${year}-${String(m).padStart(2, '0')}-${String(Math.min(d, lastDay)).padStart(2, '0')}`;
}

export interface LinkWithHistory {
  link: repo.LinkRow;
  status: EffectiveStatus;
  history: repo.LinkEventRow[];
}

async function withHistory(db: Knex, links: repo.LinkRow[], today: string): Promise<LinkWithHistory[]> {
  const events = await repo.listEvents(db, links.map((l) => l.id));
  return links.map((link) => ({ link, status: effectiveStatus(link, today), history: events.filter((e) => e.link_id === link.id) }));
}

/** The signed-in person's own links, with their history. */
export async function listMyLinks(ctx: Pick<GuardianContext, 'db' | 'clock' | 'principal'>): Promise<LinkWithHistory[]> {
  return withHistory(ctx.db, await repo.listLinksOfGuardian(ctx.db, ctx.principal.personId), vietnamDate(ctx.clock.now()));
}

/** A guardian withdraws their own pending request or gives up a verified link. */
export async function revokeMyLink(ctx: GuardianContext, linkId: string, reason: string | undefined): Promise<LinkWithHistory> {
  const now = ctx.clock.now();
  await ctx.db.transaction(async (trx) => {
    const link = await repo.findLink(trx, linkId, true);
    if (!link || link.guardian_person_id !== ctx.principal.personId) throw linkNotFound();
    if (link.status !== 'pending' && link.status !== 'verified') throw new ConflictError('GUARDIAN_LINK_NOT_ACTIVE', `This link is already ${link.status}.`);
    await repo.transitionLink(trx, linkId, [link.status], { status: 'revoked', at: now });
    await repo.insertEvent(trx, { link_id: linkId, from_status: link.status, to_status: 'revoked', actor_person_id: ctx.principal.personId, actor_role: 'guardian', at_school_id: null, note: reason ?? null, occurred_at: now });
  });
  return viewOf(ctx.db, linkId, now);
}

/** Links of the school's students, for its staff (pending ones are the desk's work queue). */
export async function listSchoolLinks(ctx: Pick<GuardianContext, 'db' | 'clock' | 'principal' | 'requestId'>, schoolId: string, filter: { status?: repo.LinkStatus }, page: { limit: number; startingAfter?: string }): Promise<Page<LinkWithHistory>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  const rows = toPage(await repo.listLinksAtSchool(ctx.db, schoolId, filter, page), page.limit);
  // Links show students' personal IDs in full to staff: the read is audited.
  await recordAuditEvent(ctx.db, { schoolId, actorPersonId: ctx.principal.personId, action: 'guardian_links.listed', subjectType: 'school', subjectId: schoolId, details: { count: rows.data.length, status: filter.status ?? null }, requestId: ctx.requestId, at: ctx.clock.now() });
  return { data: await withHistory(ctx.db, rows.data, vietnamDate(ctx.clock.now())), has_more: rows.has_more };
}

function staffRoleAt(principal: Principal, schoolId: string): StaffRole {
  return principal.staff.some((s) => s.schoolId === schoolId && s.role === 'school_admin') ? 'school_admin' : 'accountant';
}

/** Loads a link of a student enrolled at the school, locked; anything else is 404. */
async function loadSchoolLink(trx: Knex.Transaction, schoolId: string, linkId: string): Promise<repo.LinkRow> {
  const link = await repo.findLink(trx, linkId, true);
  if (!link || !(await repo.isEnrolledAt(trx, schoolId, link.student_person_id))) throw linkNotFound();
  return link;
}

/**
 * Staff confirm a pending link in person: the guardian's ID card was read at this school by a
 * registered reader (a fresh, unused, signature-checked read of the guardian's own card), and the
 * staff member notes the relation and the document seen (birth certificate, guardianship decision).
 */
export async function confirmLink(ctx: GuardianContext, schoolId: string, linkId: string, input: { chipReadId: string; relation: repo.Relation; documentNote: string }): Promise<LinkWithHistory> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (trx) => {
    const link = await loadSchoolLink(trx, schoolId, linkId);
    if (link.status !== 'pending') throw new ConflictError('GUARDIAN_LINK_NOT_PENDING', `Only a pending link can be confirmed; this one is ${link.status}.`);
    const read = await trx('chip_reads').where({ school_id: schoolId, id: input.chipReadId }).forUpdate().first<{ id: string; reader_id: string; personal_id: string; full_name: string; date_of_birth: string; read_at: Date; used_at: Date | null } | undefined>();
    if (!read) throw new UnprocessableError('CHIP_READ_NOT_FOUND', 'No such chip read at this school.', 'chip_read_id');
    if (read.used_at) throw new ConflictError('CHIP_READ_USED', 'This chip read already confirmed a link; read the card again.', { param: 'chip_read_id' });
    if (read.personal_id !== link.guardian_personal_id || read.full_name.normalize('NFC') !== link.guardian_full_name) {
      throw new UnprocessableError('CHIP_READ_MISMATCH', 'The card read is not the requesting guardian\'s.', 'chip_read_id');
    }
    if (now.getTime() - read.read_at.getTime() > CHIP_READ_CONFIRM_WINDOW_MS) throw new UnprocessableError('CHIP_READ_STALE', 'The card was read too long ago; read it again.', 'chip_read_id');
    await trx('chip_reads').where({ school_id: schoolId, id: read.id }).update({ used_for_link_id: linkId, used_at: now });
    await repo.transitionLink(trx, linkId, ['pending'], { status: 'verified', relation: input.relation, verified_by: 'chip_card', at: now });
    await repo.insertEvent(trx, {
      link_id: linkId, from_status: 'pending', to_status: 'verified', actor_person_id: ctx.principal.personId, actor_role: staffRoleAt(ctx.principal, schoolId), at_school_id: schoolId,
      note: input.documentNote, occurred_at: now,
      evidence: { source: 'chip_card', chip_read_id: read.id, reader_id: read.reader_id, relation: input.relation, read_at: read.read_at.toISOString() },
    });
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'guardian_link.confirmed', subjectType: 'guardian_link', subjectId: linkId, details: { chip_read_id: read.id, relation: input.relation }, requestId: ctx.requestId, at: now });
  });
  return viewOf(ctx.db, linkId, now);
}

async function viewOf(db: Knex, linkId: string, now: Date): Promise<LinkWithHistory> {
  const [view] = await withHistory(db, [(await repo.findLink(db, linkId))!], vietnamDate(now));
  return view!;
}

/** Staff reject a pending link (no evidence, or evidence against it), with a reason. */
export async function rejectLink(ctx: GuardianContext, schoolId: string, linkId: string, reason: string): Promise<LinkWithHistory> {
  return staffTransition(ctx, schoolId, linkId, ['pending'], 'rejected', reason, 'GUARDIAN_LINK_NOT_PENDING');
}

/** Staff revoke a pending or verified link (e.g. a court decision), with a reason. */
export async function revokeLinkAtSchool(ctx: GuardianContext, schoolId: string, linkId: string, reason: string): Promise<LinkWithHistory> {
  return staffTransition(ctx, schoolId, linkId, ['pending', 'verified'], 'revoked', reason, 'GUARDIAN_LINK_NOT_ACTIVE');
}

async function staffTransition(ctx: GuardianContext, schoolId: string, linkId: string, from: repo.LinkStatus[], to: repo.LinkStatus, reason: string, code: string): Promise<LinkWithHistory> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, STAFF);
  const now = ctx.clock.now();
  await ctx.db.transaction(async (trx) => {
    const link = await loadSchoolLink(trx, schoolId, linkId);
    if (!from.includes(link.status)) throw new ConflictError(code, `This link is ${link.status}.`);
    await repo.transitionLink(trx, linkId, [link.status], { status: to, at: now });
    await repo.insertEvent(trx, { link_id: linkId, from_status: link.status, to_status: to, actor_person_id: ctx.principal.personId, actor_role: staffRoleAt(ctx.principal, schoolId), at_school_id: schoolId, note: reason, occurred_at: now });
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: `guardian_link.${to}`, subjectType: 'guardian_link', subjectId: linkId, details: { reason }, requestId: ctx.requestId, at: now });
  });
  return viewOf(ctx.db, linkId, now);
}

/** The students the signed-in guardian may act for today, with their schools and classes. */
export async function listMyStudents(ctx: Pick<GuardianContext, 'db' | 'principal'>) {
  return repo.listWardsWithEnrollments(ctx.db, ctx.principal.wards);
}

/** A ward's statement at each school they attend; another family's student is 404. */
export async function getWardStatements(ctx: Pick<GuardianContext, 'db' | 'clock' | 'principal'>, studentId: string) {
  if (!isGuardianOf(ctx.principal, studentId)) throw new NotFoundError('STUDENT_NOT_FOUND', 'No such student.', 'student_id');
  const enrollments = await repo.listWardsWithEnrollments(ctx.db, [studentId]);
  return Promise.all(enrollments.map((e) => buildStatement(ctx.db, ctx.clock, e.school_id, studentId)));
}

/**
 * Who may receive a student's money: a verified guardian while the student is under 18 (their
 * relation), or the student themself from their 18th birthday (`self`); null for anyone else.
 */
export async function findPayeeRelation(db: Knex | Knex.Transaction, studentPersonId: string, payeePersonId: string, today: string): Promise<repo.Relation | 'self' | null> {
  const student = await db('people').where({ id: studentPersonId }).first<{ date_of_birth: string } | undefined>('date_of_birth');
  if (!student) return null;
  const adult = today >= adultOn(student.date_of_birth);
  if (payeePersonId === studentPersonId) return adult ? 'self' : null;
  if (adult) return null;
  const link = await db('guardian_links').where({ guardian_person_id: payeePersonId, student_person_id: studentPersonId, status: 'verified' }).first<{ relation: repo.Relation | null } | undefined>('relation');
  return link ? (link.relation ?? 'legal_guardian') : null;
}
