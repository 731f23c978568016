import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dedupeKeys, STATEMENT_PARSERS, StatementFormatError } from '../../src/integrations/statements';

const camt = () => readFileSync(path.join(__dirname, '../fixtures/camt053-sample.xml'), 'utf8').replace('ACCOUNT_NUMBER', '0071000123456').replace('PAYMENT_CODE', 'K7M45PL9L5');

describe('camt.053', () => {
  test('reads the account, opening and closing balances and the booked entries (a pending entry is not on the books)', () => {
    const s = STATEMENT_PARSERS.camt053(camt());
    expect(s).toMatchObject({ accountNumber: '0071000123456', openingBalanceVnd: 10_000_000, closingBalanceVnd: 11_150_000 });
    expect(s.lines).toHaveLength(2);
    expect(s.lines[0]).toMatchObject({ bookedOn: '2026-11-21', bookedAt: '2026-11-21T02:15:00.000Z', direction: 'in', amountVnd: 1_200_000, bankTransactionId: 'FT26325000001', description: 'NGUYEN VAN A chuyen tien HP K7M45PL9L5', counterpartyName: 'NGUYEN VAN A', counterpartyAccount: '1903123456789' });
    expect(s.lines[1]).toMatchObject({ direction: 'out', amountVnd: 50_000, bankTransactionId: 'FEE26325', description: 'Phi quan ly tai khoan' });
  });

  test.each([
    ['truncated', (x: string) => x.slice(0, x.length / 2)],
    ['not a statement', () => '<?xml version="1.0"?><Document><Other/></Document>'],
    ['a fractional amount', (x: string) => x.replace('1200000</Amt>', '1200000.5</Amt>')],
    ['another currency', (x: string) => x.replace('<Amt Ccy="VND">1200000', '<Amt Ccy="USD">1200000')],
    ['a bad credit/debit indicator', (x: string) => x.replace('<CdtDbtInd>DBIT</CdtDbtInd><Sts>', '<CdtDbtInd>XXXX</CdtDbtInd><Sts>')],
  ])('a camt.053 file with %s is refused with the place at fault', (_name, spoil) => {
    expect(() => STATEMENT_PARSERS.camt053(spoil(camt()))).toThrow(StatementFormatError);
    try {
      STATEMENT_PARSERS.camt053(spoil(camt()));
    } catch (e) {
      expect((e as StatementFormatError).param).toMatch(/line|Stmt|Document/);
    }
  });

  test('an entity-expansion bomb is not expanded', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Document><BkToCstmrStmt><Stmt><Acct><Id><Othr><Id>1</Id></Othr></Id></Acct><Ntry><Amt Ccy="VND">1</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-21</Dt></BookgDt><AddtlNtryInf>&b;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>`;
    const s = STATEMENT_PARSERS.camt053(bomb);
    expect(s.lines[0]!.description).toBe('&b;');
  });
});

describe('CSV layouts', () => {
  test('the generic layout, columns in any order', () => {
    const s = STATEMENT_PARSERS.csv('description,amount_vnd,direction,booked_on,bank_transaction_id\n"HP K7M45PL9L5, thang 11",1200000,in,2026-11-21,FT1\nphi,5500,out,2026-11-21,\n');
    expect(s.lines).toEqual([
      expect.objectContaining({ bookedOn: '2026-11-21', direction: 'in', amountVnd: 1_200_000, bankTransactionId: 'FT1', description: 'HP K7M45PL9L5, thang 11' }),
      expect.objectContaining({ direction: 'out', amountVnd: 5_500, bankTransactionId: null }),
    ]);
  });

  test('Vietcombank\'s export: dd/MM/yyyy dates, thousand separators, debit and credit columns, headers with or without diacritics', () => {
    const withMarks = 'STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả\n1,21/11/2026 09:15:00,5123.26325.091500,,"1.200.000","11.200.000",NGUYEN VAN A chuyen tien HP K7M45PL9L5\n2,21/11/2026,5123.26325.100000,"50,000",,"11,150,000",Phi quan ly\n';
    const s = STATEMENT_PARSERS.vietcombank_csv(withMarks);
    expect(s.lines[0]).toMatchObject({ bookedOn: '2026-11-21', bookedAt: '2026-11-21T02:15:00.000Z', direction: 'in', amountVnd: 1_200_000, bankTransactionId: '5123.26325.091500', balanceAfterVnd: 11_200_000 });
    expect(s.lines[1]).toMatchObject({ direction: 'out', amountVnd: 50_000, balanceAfterVnd: 11_150_000 });
    const plain = withMarks.replace('Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả', 'Ngay giao dich,So tham chieu,So tien ghi no,So tien ghi co,So du,Mo ta');
    expect(STATEMENT_PARSERS.vietcombank_csv(plain).lines).toHaveLength(2);
  });

  test.each([
    ['csv', 'booked_on,direction,amount_vnd\n2026-11-21,in,100\n', 'line 1'],
    ['csv', 'booked_on,direction,amount_vnd,description\n2026-11-21,in,100\n', 'line 2'],
    ['csv', 'booked_on,direction,amount_vnd,description\n21/11/2026,in,100,x\n', 'line 2: booked_on'],
    ['csv', 'booked_on,direction,amount_vnd,description\n2026-11-21,in,-100,x\n', 'line 2: amount_vnd'],
    ['csv', 'booked_on,direction,amount_vnd,description\n2026-11-21,in,100,"unclosed\n', 'line 3'],
    ['vietcombank_csv', 'STT,Ngày giao dịch,Số tham chiếu,Số tiền ghi nợ,Số tiền ghi có,Số dư,Mô tả\n1,21/11/2026,R1,"1.000","2.000",,x\n', 'line 2'],
  ] as const)('a malformed %s file (%#) is refused naming the line or field', (format, text, param) => {
    try {
      STATEMENT_PARSERS[format](text);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(StatementFormatError);
      expect((e as StatementFormatError).param).toBe(param);
    }
  });
});

describe('dedupe keys', () => {
  test('the bank\'s id when it gives one; otherwise a fingerprint numbered within its day, so two identical lines stay two and a re-read gives the same keys', () => {
    const s = STATEMENT_PARSERS.csv('booked_on,direction,amount_vnd,description,bank_transaction_id\n2026-11-21,in,100000,HP X,\n2026-11-21,in,100000,hp  x,\n2026-11-22,in,100000,HP X,\n2026-11-21,in,100000,HP X,FT9\n');
    const keys = dedupeKeys(s.lines);
    expect(keys[3]).toBe('id:FT9');
    expect(keys[0]).toMatch(/^fp:[0-9a-f]{32}:1$/);
    expect(keys[1]).toBe(keys[0]!.replace(/:1$/, ':2'));
    expect(keys[2]).toMatch(/:1$/);
    expect(keys[2]).not.toBe(keys[0]);
    expect(dedupeKeys(s.lines)).toEqual(keys);
  });
});
