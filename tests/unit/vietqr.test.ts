import fc from 'fast-check';
import { crc16CcittFalse } from '../../src/lib/crc16';
import { toAscii } from '../../src/lib/vietnamese-text';
import { type DecodedVietQr, type VietQrInput, decodeVietQr, encodeVietQr } from '../../src/lib/vietqr';

// Vectors from shared/reference/FORMATS.md (NAPAS spec 6.1.3 and 6.1.2, and two school-fee codes).
const VECTORS: Array<{ name: string; payload: string; fields: DecodedVietQr }> = [
  {
    name: 'NAPAS 6.1.3, dynamic to account',
    payload:
      '00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E',
    fields: {
      initiation: 'dynamic',
      bankBin: '970403',
      accountNumber: '0011012345678',
      service: 'QRIBFTTA',
      currency: '704',
      amountVnd: 180000,
      country: 'VN',
      billNumber: 'NPS6869',
      purpose: 'thanh toan don hang',
    },
  },
  {
    name: 'NAPAS 6.1.2, static to card',
    payload: '00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC53037045802VN63044F52',
    fields: {
      initiation: 'static',
      bankBin: '970403',
      accountNumber: '9704031101234567',
      service: 'QRIBFTTC',
      currency: '704',
      country: 'VN',
    },
  },
  {
    name: 'school fee at Vietcombank, dynamic',
    payload:
      '00020101021238570010A00000072701270006970436011300710001234560208QRIBFTTA5303704540724500005802VN62320113HP2526T09K7Q30811HP T09 K7Q363044F58',
    fields: {
      initiation: 'dynamic',
      bankBin: '970436',
      accountNumber: '0071000123456',
      service: 'QRIBFTTA',
      currency: '704',
      amountVnd: 2450000,
      country: 'VN',
      billNumber: 'HP2526T09K7Q3',
      purpose: 'HP T09 K7Q3',
    },
  },
  {
    name: 'school fee at Vietcombank, static',
    payload: '00020101021138570010A00000072701270006970436011300710001234560208QRIBFTTA53037045802VN6304F00E',
    fields: {
      initiation: 'static',
      bankBin: '970436',
      accountNumber: '0071000123456',
      service: 'QRIBFTTA',
      currency: '704',
      country: 'VN',
    },
  },
];

function toInput(fields: DecodedVietQr): VietQrInput {
  if (fields.service !== 'QRIBFTTA' && fields.service !== 'QRIBFTTC') throw new Error(`unexpected service ${fields.service}`);
  const { bankBin, accountNumber, amountVnd, billNumber, purpose, service } = fields;
  return { bankBin, accountNumber, amountVnd, billNumber, purpose, service };
}

describe('CRC-16/CCITT-FALSE', () => {
  test('gives the published check value for "123456789"', () => {
    expect(crc16CcittFalse('123456789')).toBe('29B1');
  });

  test('pads to four uppercase hex digits', () => {
    expect(crc16CcittFalse('')).toBe('FFFF');
    expect(crc16CcittFalse('123456789')).toMatch(/^[0-9A-F]{4}$/);
  });
});

describe('Vietnamese text to ASCII', () => {
  test('strips diacritics, maps đ and Đ, collapses whitespace and keeps case', () => {
    expect(toAscii('Học phí tháng 9')).toBe('Hoc phi thang 9');
    expect(toAscii('  Đóng   tiền\tđồng phục  ')).toBe('Dong tien dong phuc');
    expect(toAscii('NGUYỄN THỊ ƯỚC')).toBe('NGUYEN THI UOC');
    expect(toAscii('ă â ê ô ơ ư ỳ ỹ ỷ ỵ')).toBe('a a e o o u y y y y');
  });
});

describe('VietQR payloads (FORMATS.md)', () => {
  test.each(VECTORS)('$name decodes to its fields', ({ payload, fields }) => {
    expect(decodeVietQr(payload)).toStrictEqual(fields);
  });

  test.each(VECTORS)('$name encodes back byte for byte', ({ payload, fields }) => {
    expect(encodeVietQr(toInput(fields))).toBe(payload);
  });

  test('a fee notice in Vietnamese goes into the QR as ASCII', () => {
    const payload = encodeVietQr({
      bankBin: '970436',
      accountNumber: '0071000123456',
      amountVnd: 2_450_000,
      billNumber: 'K7QE8ZYQRL',
      purpose: 'Học phí tháng 9',
    });
    expect(payload).toMatch(/^[\x20-\x7E]+$/);
    expect(decodeVietQr(payload)).toMatchObject({ purpose: 'Hoc phi thang 9', billNumber: 'K7QE8ZYQRL' });
  });

  test('refuses inputs the format cannot carry', () => {
    const base = { bankBin: '970436', accountNumber: '0071000123456' };
    expect(() => encodeVietQr({ ...base, bankBin: '97043' })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, accountNumber: '' })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, accountNumber: '12345678901234567890' })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, accountNumber: '0071-000' })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, amountVnd: 0 })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, amountVnd: 1.5 })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, amountVnd: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, purpose: 'Học phí học kỳ 1 năm 2025-2026' })).toThrow(RangeError);
    // 26 characters: a full Vietnamese phrase plus a 10-symbol payment code does not fit.
    expect(() => encodeVietQr({ ...base, purpose: 'Học phí tháng 9 K7QE8ZYQRL' })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, billNumber: '   ' })).toThrow(RangeError);
    expect(() => encodeVietQr({ ...base, purpose: 'Học phí 学费' })).toThrow(RangeError);
  });

  test('accepts additional data of exactly 25 characters after removing diacritics', () => {
    const purpose = 'Học phí tháng 9 năm 2025A';
    expect(toAscii(purpose)).toHaveLength(25);
    const payload = encodeVietQr({ bankBin: '970436', accountNumber: '1', purpose });
    expect(decodeVietQr(payload).purpose).toBe('Hoc phi thang 9 nam 2025A');
  });

  test('rejects a payload whose CRC does not match, or that is not well-formed', () => {
    const valid = VECTORS[0]?.payload ?? '';
    expect(() => decodeVietQr(valid.replace('180000', '190000'))).toThrow(/CRC/);
    expect(() => decodeVietQr(valid.slice(0, -1) + 'F')).toThrow(/CRC/);
    expect(() => decodeVietQr(valid.slice(0, -4) + valid.slice(-4).toLowerCase())).toThrow(Error);
    expect(() => decodeVietQr(valid.slice(0, -8))).toThrow(Error);
    expect(() => decodeVietQr(valid.slice(0, 20))).toThrow(Error);
    expect(() => decodeVietQr('')).toThrow(Error);
    expect(() => decodeVietQr('hello world')).toThrow(Error);
  });

  test('rejects a well-formed payload whose merchant account is not NAPAS', () => {
    const body = '000201010211' + '3814' + '0010A000000999' + '53037045802VN6304';
    expect(() => decodeVietQr(body + crc16CcittFalse(body))).toThrow(/NAPAS/);
  });

  test('rejects a decimal amount with a valid CRC: dong have no minor unit', () => {
    const body = '00020101021238570010A00000072701270006970436011300710001234560208QRIBFTTA5303704540410.55802VN6304';
    expect(() => decodeVietQr(body + crc16CcittFalse(body))).toThrow(/whole dong/);
  });

  const vietnameseWords = ['Học phí tháng 9', 'Học', 'phí', 'tháng', 'Đồng', 'phục', 'bán', 'trú', 'Tiền', 'ăn', 'lớp', 'Nguyễn', 'Thị', 'Ưng'];
  const additionalText = fc
    .array(fc.oneof(fc.constantFrom(...vietnameseWords), fc.stringMatching(/^[A-Za-z0-9 .-]{1,8}$/)), {
      minLength: 1,
      maxLength: 6,
    })
    .map((words) => words.join(' ').slice(0, 25))
    .filter((text) => toAscii(text).length > 0);

  const vietQrInput = fc.record(
    {
      bankBin: fc.stringMatching(/^\d{6}$/),
      accountNumber: fc.stringMatching(/^[0-9A-Za-z]{1,19}$/),
      amountVnd: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      billNumber: additionalText,
      purpose: additionalText,
      service: fc.constantFrom('QRIBFTTA' as const, 'QRIBFTTC' as const),
    },
    { requiredKeys: ['bankBin', 'accountNumber'] },
  );

  test('for any account, amount, bill number and purpose, the payload decodes back to the same fields as ASCII', () => {
    fc.assert(
      fc.property(vietQrInput, (input) => {
        const payload = encodeVietQr(input);
        expect(payload).toMatch(/^[\x20-\x7E]+$/);
        const decoded = decodeVietQr(payload);
        expect(decoded).toStrictEqual({
          initiation: input.amountVnd === undefined ? 'static' : 'dynamic',
          bankBin: input.bankBin,
          accountNumber: input.accountNumber,
          service: input.service ?? 'QRIBFTTA',
          currency: '704',
          country: 'VN',
          ...(input.amountVnd === undefined ? {} : { amountVnd: input.amountVnd }),
          ...(input.billNumber === undefined ? {} : { billNumber: toAscii(input.billNumber) }),
          ...(input.purpose === undefined ? {} : { purpose: toAscii(input.purpose) }),
        });
        expect(encodeVietQr(toInput(decoded))).toBe(payload);
      }),
    );
  });

  test('any one-character change to a valid payload is rejected', () => {
    const printable = fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code));
    fc.assert(
      fc.property(vietQrInput, fc.nat(), printable, (input, at, replacement) => {
        const payload = encodeVietQr(input);
        const index = at % payload.length;
        fc.pre(payload[index] !== replacement);
        const corrupted = payload.slice(0, index) + replacement + payload.slice(index + 1);
        expect(() => decodeVietQr(corrupted)).toThrow(Error);
      }),
      { numRuns: 500 },
    );
  });
});
