import fc from 'fast-check';
import { CsvSyntaxError, formatCsvRow, parseCsv } from '../../src/lib/csv';

describe('CSV reader (RFC 4180)', () => {
  test('reads quoted fields, doubled quotes, CRLF, a BOM and Vietnamese text', () => {
    const text = '\ufeffa,b,c\r\n"Nguyễn, Văn A","say ""hi""",3\r\n\r\nx,,z\n';
    expect(parseCsv(text)).toEqual([
      ['a', 'b', 'c'],
      ['Nguyễn, Văn A', 'say "hi"', '3'],
      ['x', '', 'z'],
    ]);
  });

  test('keeps newlines inside quotes and reads a last line without newline', () => {
    expect(parseCsv('a,"line1\nline2"\nb,c')).toEqual([['a', 'line1\nline2'], ['b', 'c']]);
  });

  test('refuses an unterminated quote with its line', () => {
    expect(() => parseCsv('a,b\n"open,c\n')).toThrow(CsvSyntaxError);
  });
});

describe('CSV writer (RFC 4180)', () => {
  test('quotes a field with a comma, a quote or a line break, and writes numbers plainly', () => {
    expect(formatCsvRow(['Nguyễn, Văn A', 'say "hi"', 'a\nb', 1234567, -5000, null, ''])).toBe('"Nguyễn, Văn A","say ""hi""","a\nb",1234567,-5000,,\r\n');
  });

  test('guards text a spreadsheet would run as a formula, never a number', () => {
    expect(formatCsvRow(['=SUM(A1)', '+1', '-x', '@cmd', -12])).toBe("'=SUM(A1),'+1,'-x,'@cmd,-12\r\n");
  });

  test('refuses a number that is not finite', () => {
    expect(() => formatCsvRow([Number.NaN])).toThrow(RangeError);
  });

  test('any rows written read back the same (text not starting with a formula sign)', () => {
    const cell = fc.oneof(fc.string({ unit: 'grapheme' }).filter((s) => !/^[=+\-@\t\r]/.test(s)), fc.integer());
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 5 }), (rows) => {
        const text = rows.map(formatCsvRow).join('');
        expect(parseCsv(text)).toEqual(rows.map((r) => r.map(String)));
      }),
    );
  });
});
