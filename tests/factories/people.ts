import { randomInt } from 'node:crypto';
import { centuryGenderDigit } from '../../src/lib/personal-id';

/** A new student's details with a valid personal ID (HCMC, 079) that no seed uses (serials from 900000). */
export function newStudent(overrides: Partial<{ birthYear: number; gender: 'male' | 'female'; fullName: string }> = {}) {
  const birthYear = overrides.birthYear ?? 2015;
  const gender = overrides.gender ?? 'female';
  const serial = String(900000 + randomInt(0, 99999)).padStart(6, '0');
  return {
    personal_id: `079${centuryGenderDigit(birthYear, gender)}${String(birthYear).slice(2)}${serial}`,
    full_name: overrides.fullName ?? 'Nguyễn Ngọc Ánh',
    date_of_birth: `${birthYear}-04-12`,
    gender,
  };
}
