import { PROVINCES } from './provinces';

/**
 * The 12-digit personal identification number (so dinh danh ca nhan): PPP G YY NNNNNN.
 * It has no check digit, so a well-formed number proves nothing about identity; these checks only
 * reject numbers that cannot exist. See shared/reference/FORMATS.md.
 */
export type PersonalIdProblem =
  | 'PERSONAL_ID_FORMAT'
  | 'PERSONAL_ID_PROVINCE'
  | 'PERSONAL_ID_BIRTH_YEAR'
  | 'PERSONAL_ID_BIRTH_YEAR_MISMATCH';

export interface DecodedPersonalId {
  provinceCode: string;
  birthYear: number;
  gender: 'male' | 'female';
  serial: string;
}

const PERSONAL_ID_PATTERN = /^\d{12}$/;

/** Decodes the century/gender digit: birth year = 1900 + 100 * floor(G / 2) + YY; even G male. */
export function decodePersonalId(personalId: string): DecodedPersonalId | null {
  if (!PERSONAL_ID_PATTERN.test(personalId)) return null;
  const g = Number(personalId[3]);
  const yy = Number(personalId.slice(4, 6));
  return {
    provinceCode: personalId.slice(0, 3),
    birthYear: 1900 + 100 * Math.floor(g / 2) + yy,
    gender: g % 2 === 0 ? 'male' : 'female',
    serial: personalId.slice(6),
  };
}

export interface PersonalIdCheck {
  /** The current year in Vietnam, from the clock. */
  currentYear: number;
  /** Recorded date of birth (YYYY-MM-DD); when given, its year must match the number's. */
  dateOfBirth?: string;
  /** Plausible birth-year range for the person's role; defaults to 1900..currentYear. */
  minBirthYear?: number;
  maxBirthYear?: number;
}

/** Returns the first reason the number cannot be a real personal ID, or null when it is well-formed. */
export function findPersonalIdProblem(personalId: string, check: PersonalIdCheck): PersonalIdProblem | null {
  const decoded = decodePersonalId(personalId);
  if (!decoded) return 'PERSONAL_ID_FORMAT';
  if (!PROVINCES.has(decoded.provinceCode)) return 'PERSONAL_ID_PROVINCE';
  const minYear = check.minBirthYear ?? 1900;
  const maxYear = Math.min(check.maxBirthYear ?? check.currentYear, check.currentYear);
  if (decoded.birthYear < minYear || decoded.birthYear > maxYear) return 'PERSONAL_ID_BIRTH_YEAR';
  if (check.dateOfBirth && Number(check.dateOfBirth.slice(0, 4)) !== decoded.birthYear) {
    return 'PERSONAL_ID_BIRTH_YEAR_MISMATCH';
  }
  return null;
}

/** Builds the century/gender digit for a birth year and gender (used by seeds and factories). */
export function centuryGenderDigit(birthYear: number, gender: 'male' | 'female'): string {
  const century = Math.floor((birthYear - 1900) / 100);
  return String(century * 2 + (gender === 'female' ? 1 : 0));
}

/** Masks a personal ID for logs and screens: 079******123. */
export function maskPersonalId(personalId: string): string {
  return personalId.length === 12 ? `${personalId.slice(0, 3)}******${personalId.slice(9)}` : '************';
}

/**
 * Masks every standalone 12-digit number in free text (URLs, messages) so no full personal ID
 * reaches a log. Digits inside longer tokens (hex ids, timestamps) are left alone.
 */
export function maskPersonalIdsInText(text: string): string {
  return text.replace(/(?<![0-9A-Za-z])(\d{3})\d{6}(\d{3})(?![0-9A-Za-z])/g, '$1******$2');
}
