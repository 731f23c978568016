import { isId, newId } from '../../src/lib/ids';

describe('isId', () => {
  test('accepts what newId makes, for its prefix only', () => {
    const id = newId('bep');
    expect(isId('bep', id)).toBe(true);
    expect(isId('sch', id)).toBe(false);
  });

  test.each(['', 'bep_', `bep_${'0'.repeat(31)}`, `bep_${'0'.repeat(33)}`, `bep_${'A'.repeat(32)}`, `bep_${'0'.repeat(31)}\u0000`, `BEP_${'0'.repeat(32)}`, `xbep_${'0'.repeat(31)}`])('refuses %j', (value) => {
    expect(isId('bep', value)).toBe(false);
  });
});
