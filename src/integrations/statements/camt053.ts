import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isCalendarDate, vietnamDate } from '../../lib/clock';
import { type ParsedLine, type ParsedStatement, parseStatementAmount, StatementFormatError } from './statement-source';

/**
 * ISO 20022 camt.053 (BankToCustomerStatement), the part a reconciliation needs: the account
 * (Acct/Id/IBAN or Othr/Id), opening and closing booked balances (OPBD, CLBD) and each entry
 * (Ntry): amount in VND, CRDT or DBIT, booking date, the bank's reference (AcctSvcrRef), the
 * remittance text (RmtInf/Ustrd) and the counterparty. Parsed with fast-xml-parser, which expands
 * no external entities and is given no DTD processing, so a hostile file cannot reach the disk or
 * the network. Several Stmt elements are read as one statement if they are for one account.
 */
type Node = Record<string, unknown>;
const asArray = (v: unknown): Node[] => (v === undefined || v === null ? [] : Array.isArray(v) ? (v as Node[]) : [v as Node]);
const child = (n: unknown, ...path: string[]): unknown => path.reduce<unknown>((cur, key) => (cur && typeof cur === 'object' ? (cur as Node)[key] : undefined), n);
const text = (v: unknown): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') return text((v as Node)['#text']);
  return String(v);
};

function amountOf(node: unknown, param: string): number {
  const amt = child(node, 'Amt');
  const ccy = amt && typeof amt === 'object' ? (amt as Node)['@_Ccy'] : undefined;
  if (ccy !== undefined && ccy !== 'VND') throw new StatementFormatError(`currency ${String(ccy)} is not VND`, param);
  const value = text(amt);
  if (value === null) throw new StatementFormatError('missing Amt', param);
  return parseStatementAmount(value, param);
}

function dateOf(node: unknown, param: string): { on: string; at: string | null } {
  const dt = text(child(node, 'DtTm'));
  if (dt) {
    const at = new Date(dt);
    if (Number.isNaN(at.getTime())) throw new StatementFormatError(`bad date-time ${dt.slice(0, 40)}`, param);
    // A local time without an offset is Vietnam time.
    const instant = /[zZ]|[+-]\d\d:?\d\d$/.test(dt) ? at : new Date(`${dt}+07:00`);
    return { on: vietnamDate(instant), at: instant.toISOString() };
  }
  const d = text(child(node, 'Dt'));
  if (!d || !isCalendarDate(d)) throw new StatementFormatError('missing or bad date', param);
  return { on: d, at: null };
}

export function parseCamt053(xml: string): ParsedStatement {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new StatementFormatError(`not well-formed XML: ${valid.err.msg}`, `line ${valid.err.line}`);
  const parser = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true, parseTagValue: false, processEntities: false, ignoreDeclaration: true, ignorePiTags: true });
  const doc = parser.parse(xml) as Node;
  const statements = asArray(child(doc, 'Document', 'BkToCstmrStmt', 'Stmt'));
  if (statements.length === 0) throw new StatementFormatError('no Document/BkToCstmrStmt/Stmt element: not a camt.053 statement', 'Document');

  let accountNumber: string | null = null;
  let opening: number | null = null;
  let closing: number | null = null;
  const lines: ParsedLine[] = [];
  statements.forEach((stmt, s) => {
    const acct = text(child(stmt, 'Acct', 'Id', 'Othr', 'Id')) ?? text(child(stmt, 'Acct', 'Id', 'IBAN'));
    if (!acct) throw new StatementFormatError('statement has no account id', `Stmt[${s}]/Acct`);
    if (accountNumber !== null && accountNumber !== acct) throw new StatementFormatError('statements for several accounts in one file', `Stmt[${s}]/Acct`);
    accountNumber = acct;
    for (const [b, bal] of asArray(child(stmt, 'Bal')).entries()) {
      const code = text(child(bal, 'Tp', 'CdOrPrtry', 'Cd'));
      const signed = amountOf(bal, `Stmt[${s}]/Bal[${b}]`) * (text(child(bal, 'CdtDbtInd')) === 'DBIT' ? -1 : 1);
      if (code === 'OPBD' && opening === null) opening = signed;
      if (code === 'CLBD') closing = signed;
    }
    asArray(child(stmt, 'Ntry')).forEach((entry, e) => {
      const param = `Stmt[${s}]/Ntry[${e}]`;
      const status = text(child(entry, 'Sts', 'Cd')) ?? text(child(entry, 'Sts'));
      if (status && status !== 'BOOK') return; // pending or informational entries are not on the books yet
      const indicator = text(child(entry, 'CdtDbtInd'));
      if (indicator !== 'CRDT' && indicator !== 'DBIT') throw new StatementFormatError('CdtDbtInd must be CRDT or DBIT', `${param}/CdtDbtInd`);
      const booked = dateOf(child(entry, 'BookgDt'), `${param}/BookgDt`);
      const tx = asArray(child(entry, 'NtryDtls', 'TxDtls'))[0];
      const ustrd = asArray(child(tx, 'RmtInf', 'Ustrd')).map((u) => text(u) ?? '').join(' ');
      const debtor = indicator === 'CRDT' ? child(tx, 'RltdPties', 'Dbtr') : child(tx, 'RltdPties', 'Cdtr');
      const debtorAcct = indicator === 'CRDT' ? child(tx, 'RltdPties', 'DbtrAcct') : child(tx, 'RltdPties', 'CdtrAcct');
      lines.push({
        bookedOn: booked.on,
        bookedAt: booked.at,
        direction: indicator === 'CRDT' ? 'in' : 'out',
        amountVnd: amountOf(entry, param),
        bankTransactionId: text(child(entry, 'AcctSvcrRef')) ?? text(child(tx, 'Refs', 'AcctSvcrRef')) ?? text(child(tx, 'Refs', 'TxId')),
        description: (ustrd || text(child(entry, 'AddtlNtryInf')) || '').slice(0, 1000),
        virtualAccount: null,
        counterpartyName: text(child(debtor, 'Nm')) ?? text(child(debtor, 'Pty', 'Nm')),
        counterpartyAccount: text(child(debtorAcct, 'Id', 'Othr', 'Id')) ?? text(child(debtorAcct, 'Id', 'IBAN')),
        balanceAfterVnd: null,
        raw: entry,
      });
    });
  });
  return { accountNumber, openingBalanceVnd: opening, closingBalanceVnd: closing, lines };
}
