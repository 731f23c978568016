import { centuryGenderDigit, decodePersonalId, findPersonalIdProblem, maskPersonalId, maskPersonalIdsInText } from '../../src/lib/personal-id';

describe('personal ID numbers (FORMATS.md)', () => {
  test('decodes province, century/gender digit and birth year', () => {
    expect(decodePersonalId('079215000123')).toEqual({ provinceCode: '079', birthYear: 2015, gender: 'male', serial: '000123' });
    expect(decodePersonalId('001185000001')).toEqual({ provinceCode: '001', birthYear: 1985, gender: 'female', serial: '000001' });
    expect(decodePersonalId('079315000123')?.gender).toBe('female');
  });

  test('builds the century/gender digit that decodes back', () => {
    for (const [year, gender] of [[1975, 'male'], [1990, 'female'], [2012, 'male'], [2020, 'female']] as const) {
      const id = `079${centuryGenderDigit(year, gender)}${String(year).slice(2)}000001`;
      expect(decodePersonalId(id)).toMatchObject({ birthYear: year, gender });
    }
  });

  test.each([
    ['07921500012', 'PERSONAL_ID_FORMAT'],
    ['0792150001234', 'PERSONAL_ID_FORMAT'],
    ['07921500012a', 'PERSONAL_ID_FORMAT'],
    ['999215000123', 'PERSONAL_ID_PROVINCE'],
    ['003215000123', 'PERSONAL_ID_PROVINCE'],
    ['079499000123', 'PERSONAL_ID_BIRTH_YEAR'],
    ['079230000123', 'PERSONAL_ID_BIRTH_YEAR'],
  ])('rejects %s as %s', (id, problem) => {
    expect(findPersonalIdProblem(id, { currentYear: 2026 })).toBe(problem);
  });

  test('checks the birth year against the role range and the recorded date of birth', () => {
    expect(findPersonalIdProblem('079215000123', { currentYear: 2026 })).toBeNull();
    expect(findPersonalIdProblem('079215000123', { currentYear: 2026, dateOfBirth: '2015-06-01' })).toBeNull();
    expect(findPersonalIdProblem('079215000123', { currentYear: 2026, dateOfBirth: '2014-06-01' })).toBe('PERSONAL_ID_BIRTH_YEAR_MISMATCH');
    expect(findPersonalIdProblem('079080000123', { currentYear: 2026, minBirthYear: 1996 })).toBe('PERSONAL_ID_BIRTH_YEAR');
  });

  test('masks as 079******123, in text too', () => {
    expect(maskPersonalId('079215000123')).toBe('079******123');
    expect(maskPersonalIdsInText('/v1/students/079215000123?x=1')).toBe('/v1/students/079******123?x=1');
    expect(maskPersonalIdsInText('ids 079215000123,001185000001')).toBe('ids 079******123,001******001');
    expect(maskPersonalIdsInText('amount 2450000')).toBe('amount 2450000');
    expect(maskPersonalIdsInText('req_ab123456789012cd 1795327369041')).toBe('req_ab123456789012cd 1795327369041');
  });
});
