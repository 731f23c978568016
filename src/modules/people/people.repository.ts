import type { Db } from '../../db/knex';

export interface PersonRow {
  id: string;
  personal_id: string;
  full_name: string;
  date_of_birth: string;
  gender: 'male' | 'female';
}

const COLUMNS = ['id', 'personal_id', 'full_name', 'date_of_birth', 'gender'] as const;

export async function findByPersonalId(db: Db, personalId: string): Promise<PersonRow | undefined> {
  return db('people').where({ personal_id: personalId }).first<PersonRow | undefined>(...COLUMNS);
}

export async function findByPersonalIds(db: Db, personalIds: string[]): Promise<PersonRow[]> {
  return db('people').whereIn('personal_id', personalIds).select<PersonRow[]>(...COLUMNS);
}

/** Inserts the person unless the personal ID exists; returns the row either way. */
export async function insertIfAbsent(db: Db, person: Omit<PersonRow, 'id'>): Promise<PersonRow> {
  await db('people').insert(person).onConflict('personal_id').ignore();
  return (await findByPersonalId(db, person.personal_id)) as PersonRow;
}

/** Records what VNeID verified; national identity is authoritative for name, birth date and gender. */
export async function upsertVerified(db: Db, person: Omit<PersonRow, 'id'>, at: Date): Promise<PersonRow> {
  const [row] = await db('people')
    .insert({ ...person, created_at: at, updated_at: at })
    .onConflict('personal_id')
    .merge({ full_name: person.full_name, date_of_birth: person.date_of_birth, gender: person.gender, updated_at: at })
    .returning<PersonRow[]>([...COLUMNS]);
  return row as PersonRow;
}
