import { CsvSyntaxError, parseCsv } from '../../src/lib/csv';

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
