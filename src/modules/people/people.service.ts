import type { Db } from '../../db/knex';
import { ConflictError } from '../../http/errors';
import * as repo from './people.repository';

export type { PersonRow } from './people.repository';

export interface PersonDetails {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'male' | 'female';
}

/** Names are compared and stored in Unicode NFC so "Nguyễn" typed two ways is one name. */
export function normalizeName(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/g, ' ');
}

export function findPersonByPersonalId(db: Db, personalId: string) {
  return repo.findByPersonalId(db, personalId);
}

export function findPeopleByPersonalIds(db: Db, personalIds: string[]) {
  return repo.findByPersonalIds(db, personalIds);
}

/**
 * Finds the person with this personal ID, or records them. A personal ID already on record with a
 * different name or birth date is a conflict to resolve with national identity data, not a silent
 * overwrite.
 */
export async function findOrRecordPerson(db: Db, details: PersonDetails, param = 'personal_id'): Promise<repo.PersonRow> {
  const person = await repo.insertIfAbsent(db, {
    personal_id: details.personalId,
    full_name: normalizeName(details.fullName),
    date_of_birth: details.dateOfBirth,
    gender: details.gender,
  });
  if (person.full_name !== normalizeName(details.fullName) || person.date_of_birth !== details.dateOfBirth) {
    throw new ConflictError('PERSON_DETAILS_MISMATCH', 'This personal ID is on record with a different name or date of birth.', { param });
  }
  return person;
}

/** Records the identity VNeID verified at sign-in. */
export function recordVerifiedIdentity(db: Db, details: PersonDetails, at: Date) {
  return repo.upsertVerified(
    db,
    { personal_id: details.personalId, full_name: normalizeName(details.fullName), date_of_birth: details.dateOfBirth, gender: details.gender },
    at,
  );
}
