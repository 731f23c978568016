import type { Db } from '../../db/knex';

/** Appends an audit event (the table refuses updates and deletes). */
export async function recordAuditEvent(
  db: Db,
  event: { schoolId: string; actorPersonId: string; action: string; subjectType: string; subjectId: string; details?: Record<string, unknown>; requestId?: string; at: Date },
): Promise<void> {
  await db('audit_events').insert({
    school_id: event.schoolId,
    actor_person_id: event.actorPersonId,
    action: event.action,
    subject_type: event.subjectType,
    subject_id: event.subjectId,
    details: JSON.stringify(event.details ?? {}),
    request_id: event.requestId ?? null,
    occurred_at: event.at,
  });
}
