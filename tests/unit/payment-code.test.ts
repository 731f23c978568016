import fc from 'fast-check';
import {
  PAYMENT_CODE_ALPHABET,
  findPaymentCodes,
  isValidPaymentCode,
  newPaymentCode,
  newSchoolPrefix,
} from '../../src/lib/payment-code';

const CODE_SHAPE = new RegExp(`^[${PAYMENT_CODE_ALPHABET}]{10}$`);
const symbol = fc.constantFrom(...PAYMENT_CODE_ALPHABET);
const prefix = fc.array(symbol, { minLength: 3, maxLength: 3 }).map((symbols) => symbols.join(''));
const randomSource = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((bytes) => () => Buffer.from(bytes));
const code = fc.tuple(prefix, randomSource).map(([schoolPrefix, random]) => newPaymentCode(schoolPrefix, random));

describe('payment codes', () => {
  test('the alphabet has 32 distinct symbols and none that people confuse (0/O, 1/I)', () => {
    expect(new Set(PAYMENT_CODE_ALPHABET).size).toBe(32);
    expect(PAYMENT_CODE_ALPHABET).not.toMatch(/[01OI]/);
  });

  test('a new code is 10 alphabet symbols, starts with the school prefix and passes its own check', () => {
    for (let i = 0; i < 200; i += 1) {
      const paymentCode = newPaymentCode('K7Q');
      expect(paymentCode).toMatch(CODE_SHAPE);
      expect(paymentCode.startsWith('K7Q')).toBe(true);
      expect(isValidPaymentCode(paymentCode)).toBe(true);
    }
  });

  test('the same random bytes give the same code, so the check symbol is computed, not random', () => {
    const bytes = Buffer.from([0, 1, 2, 3, 4, 31]);
    expect(newPaymentCode('K7Q', () => bytes)).toBe(newPaymentCode('K7Q', () => bytes));
    expect(newPaymentCode('K7Q', () => bytes).slice(0, 9)).toBe('K7Q23456Z');
  });

  test('refuses a prefix that is not exactly three alphabet symbols', () => {
    for (const bad of ['K7', 'K7QA', 'k7q', 'K0Q', 'KIQ', '']) {
      expect(() => newPaymentCode(bad)).toThrow(RangeError);
    }
  });

  test('a school prefix is three alphabet symbols', () => {
    expect(newSchoolPrefix()).toMatch(new RegExp(`^[${PAYMENT_CODE_ALPHABET}]{3}$`));
    expect(newSchoolPrefix(() => Buffer.from([0, 31, 32]))).toBe('2Z2');
  });

  test('accepts a lowercased code, and refuses wrong lengths and symbols outside the alphabet', () => {
    const paymentCode = newPaymentCode('K7Q');
    expect(isValidPaymentCode(paymentCode.toLowerCase())).toBe(true);
    expect(isValidPaymentCode(paymentCode.slice(0, 9))).toBe(false);
    expect(isValidPaymentCode(`${paymentCode}2`)).toBe(false);
    expect(isValidPaymentCode(`${paymentCode.slice(0, 9)}0`)).toBe(false);
    expect(isValidPaymentCode('')).toBe(false);
  });

  test('any single mistyped symbol is detected', () => {
    fc.assert(
      fc.property(code, (paymentCode) => {
        for (let i = 0; i < paymentCode.length; i += 1) {
          for (const replacement of PAYMENT_CODE_ALPHABET) {
            if (replacement === paymentCode[i]) continue;
            const mistyped = paymentCode.slice(0, i) + replacement + paymentCode.slice(i + 1);
            expect(isValidPaymentCode(mistyped)).toBe(false);
          }
        }
      }),
    );
  });

  test('any swap of two different neighbouring symbols is detected, except Luhn mod 32\'s one blind spot "2"<->"Z"', () => {
    fc.assert(
      fc.property(code, (paymentCode) => {
        for (let i = 0; i + 1 < paymentCode.length; i += 1) {
          const [a, b] = [paymentCode.charAt(i), paymentCode.charAt(i + 1)];
          if (a === b) continue;
          const swapped = paymentCode.slice(0, i) + b + a + paymentCode.slice(i + 2);
          const blindSpot = (a === '2' && b === 'Z') || (a === 'Z' && b === '2');
          expect(isValidPaymentCode(swapped)).toBe(blindSpot);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('the blind spot is real: swapping a neighbouring "2" and "Z" keeps the check symbol valid', () => {
    const paymentCode = newPaymentCode('K2Z', () => Buffer.from([0, 0, 0, 0, 0, 0]));
    expect(isValidPaymentCode(`KZ2${paymentCode.slice(3)}`)).toBe(true);
  });

  test('codes are never 12-digit numbers, so none can be a personal ID', () => {
    fc.assert(
      fc.property(code, fc.stringMatching(/^\d{12}$/), (paymentCode, personalId) => {
        expect(paymentCode).toHaveLength(10);
        expect(paymentCode).not.toMatch(/^\d{12}$/);
        expect(isValidPaymentCode(personalId)).toBe(false);
      }),
    );
  });

  describe('finding codes in bank transfer descriptions', () => {
    test('finds a lowercased code glued to the bank app\'s own words', () => {
      fc.assert(
        fc.property(code, (paymentCode) => {
          const description = `CT DEN:0123 hp abc${paymentCode.toLowerCase()}xyz thanh toan`;
          expect(findPaymentCodes(description)).toContain(paymentCode);
        }),
      );
    });

    test('returns exactly the code for a typical description, uppercased', () => {
      const paymentCode = newPaymentCode('K7Q', () => Buffer.from([10, 20, 30, 5, 15, 25]));
      const description = `MBVCB.1234567.${paymentCode.toLowerCase()} Hoc phi thang 9.CT tu 0071000123456 NGUYEN VAN A`;
      expect(findPaymentCodes(description)).toEqual([paymentCode]);
    });

    test('returns each code once, in order of first appearance', () => {
      const first = newPaymentCode('K7Q', () => Buffer.from([1, 2, 3, 4, 5, 6]));
      const second = newPaymentCode('M3P', () => Buffer.from([6, 5, 4, 3, 2, 1]));
      expect(findPaymentCodes(`${second} ${first} ${second.toLowerCase()}`)).toEqual([second, first]);
    });

    test('returns nothing for a description without a code', () => {
      expect(findPaymentCodes('CT DEN:0123 hoc phi thang 9 chuyen tien')).toEqual([]);
      // Glued words that do form 10-symbol windows, none with a valid check symbol.
      expect(findPaymentCodes('chuyenkhoanhocphithang9namhoc nguyenvanan')).toEqual([]);
      expect(findPaymentCodes('079215000123')).toEqual([]);
      expect(findPaymentCodes('')).toEqual([]);
    });
  });
});
