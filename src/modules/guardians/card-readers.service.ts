import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { Knex } from 'knex';
import { ConflictError, UnprocessableError, ValidationError } from '../../http/errors';
import type { Clock } from '../../lib/clock';
import { isUniqueViolation } from '../../lib/pg-errors';
import { type Principal, requireSchoolInScope, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { normalizeName } from '../people/people.service';
import { ChipReadPayload } from './guardians.schemas';

/**
 * Chip-card readers at a school's desk. A reader reads the chip of a citizen ID card (CCCD) and
 * signs its result (identity fields only, never the chip's images) with its Ed25519 key; the school
 * registered the public key. A read is accepted only with a valid signature from an active reader
 * of this school, when fresh, and once.
 */
export interface ReaderContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

/** How old a read may be when it reaches us, and how far ahead of our clock a reader's may run. */
export const CHIP_READ_MAX_AGE_MS = 5 * 60 * 1000;
export const CHIP_READ_MAX_SKEW_MS = 60 * 1000;

function ed25519Key(pem: string): KeyObject | null {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? key : null;
  } catch {
    return null;
  }
}

/** A school admin registers a reader with its Ed25519 public key (PEM). */
export async function registerCardReader(ctx: ReaderContext, schoolId: string, input: { name: string; publicKey: string }) {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  if (!ed25519Key(input.publicKey)) throw new ValidationError('CARD_READER_KEY_INVALID', 'public_key must be an Ed25519 public key in PEM.', { param: 'public_key' });
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const [row] = await trx('card_readers').insert({ school_id: schoolId, name: input.name, public_key: input.publicKey.trim(), created_by: ctx.principal.personId, created_at: now }).returning('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'card_reader.registered', subjectType: 'card_reader', subjectId: row.id, details: { name: input.name }, requestId: ctx.requestId, at: now });
    return row as { id: string; school_id: string; name: string; public_key: string; created_at: Date; revoked_at: Date | null };
  });
}

export async function listCardReaders(ctx: ReaderContext, schoolId: string) {
  await requireSchoolInScope(ctx.db, ctx.principal, schoolId);
  return ctx.db('card_readers').where({ school_id: schoolId }).orderBy('id').select<{ id: string; school_id: string; name: string; public_key: string; created_at: Date; revoked_at: Date | null }[]>('*');
}

const invalidSignature = () => new UnprocessableError('CHIP_READ_SIGNATURE_INVALID', 'The read is not signed by this reader.', 'signature');

/**
 * Staff submit a reader's signed result. Order: the reader must be an active reader of this school,
 * the signature must verify over the exact payload bytes, and only then is the payload parsed; it
 * must name the same reader and be fresh. The same signed read twice is a replay.
 */
export async function recordChipRead(ctx: ReaderContext, schoolId: string, input: { readerId: string; payload: string; signature: string }) {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const now = ctx.clock.now();
  const reader = await ctx.db('card_readers').where({ school_id: schoolId, id: input.readerId }).whereNull('revoked_at').first<{ id: string; public_key: string } | undefined>('id', 'public_key');
  if (!reader) throw new UnprocessableError('CARD_READER_UNKNOWN', 'No active card reader with this id at this school.', 'reader_id');
  const key = ed25519Key(reader.public_key);
  const bytes = Buffer.from(input.payload, 'base64');
  const signature = Buffer.from(input.signature, 'base64');
  if (!key || signature.length !== 64 || !verify(null, bytes, key, signature)) throw invalidSignature();
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ValidationError('CHIP_READ_MALFORMED', 'The signed payload is not JSON.', { param: 'payload' });
  }
  const parsed = ChipReadPayload.safeParse(json);
  if (!parsed.success) throw new ValidationError('CHIP_READ_MALFORMED', 'The signed payload is not a chip read.', { param: 'payload', details: parsed.error.issues.map((i) => ({ param: `payload.${i.path.join('.')}`, code: 'invalid', message: i.message })) });
  const read = parsed.data;
  if (read.reader_id !== reader.id) throw invalidSignature();
  const readAt = new Date(read.read_at);
  if (now.getTime() - readAt.getTime() > CHIP_READ_MAX_AGE_MS || readAt.getTime() - now.getTime() > CHIP_READ_MAX_SKEW_MS) {
    throw new UnprocessableError('CHIP_READ_STALE', 'The read is not fresh; read the card again.', 'payload');
  }
  try {
    return await ctx.db.transaction(async (trx) => {
      const [row] = await trx('chip_reads')
        .insert({
          school_id: schoolId, reader_id: reader.id, personal_id: read.personal_id, full_name: normalizeName(read.full_name), date_of_birth: read.date_of_birth,
          father_name: read.father_name ? normalizeName(read.father_name) : null, mother_name: read.mother_name ? normalizeName(read.mother_name) : null,
          read_at: readAt, received_at: now, payload_sha256: createHash('sha256').update(bytes).digest('hex'), signature: input.signature, submitted_by: ctx.principal.personId,
        })
        .returning('*');
      await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'chip_read.recorded', subjectType: 'chip_read', subjectId: row.id, details: { reader_id: reader.id }, requestId: ctx.requestId, at: now });
      return row as ChipReadRow;
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError('CHIP_READ_REPLAYED', 'This signed read was already submitted.', { param: 'payload' });
    throw e;
  }
}

export interface ChipReadRow {
  id: string;
  school_id: string;
  reader_id: string;
  personal_id: string;
  full_name: string;
  date_of_birth: string;
  father_name: string | null;
  mother_name: string | null;
  read_at: Date;
  received_at: Date;
  used_for_link_id: string | null;
}
