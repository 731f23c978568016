import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ParsedStatement } from './statement-source';

/**
 * A bank's statement API, pulled by the nightly job: `GET <base>/statements?account_number=&date=`
 * authenticated like the banks' open-banking APIs we integrate with: a client key id and an
 * HMAC-SHA256 over method, path with query and a timestamp (`X-Api-Key-Id`, `X-Timestamp`,
 * `X-Signature`), 5-minute window. The bank simulator serves it in development and tests.
 */
export interface StatementApiSettings {
  baseUrl: string;
  keyId: string;
  secret: string;
}

const WINDOW_MS = 5 * 60 * 1000;

export function signStatementRequest(secret: string, method: string, pathWithQuery: string, timestamp: string): string {
  return createHmac('sha256', secret).update(`${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}`).digest('hex');
}

export function verifyStatementRequest(secret: string, method: string, pathWithQuery: string, headers: Record<string, string | undefined>, now: Date): boolean {
  const ts = headers['x-timestamp'];
  const sig = headers['x-signature'];
  if (!ts || !sig || !/^\d{10}$/.test(ts) || Math.abs(now.getTime() - Number(ts) * 1000) > WINDOW_MS) return false;
  const expected = Buffer.from(signStatementRequest(secret, method, pathWithQuery, ts), 'hex');
  const given = Buffer.from(sig, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export const StatementApiReply = z.object({
  account_number: z.string(),
  date: z.string(),
  opening_balance_vnd: z.number().int(),
  closing_balance_vnd: z.number().int(),
  transactions: z.array(
    z.object({
      transaction_id: z.string().min(1).max(200),
      booked_at: z.string(),
      direction: z.enum(['in', 'out']),
      amount_vnd: z.number().int().positive(),
      description: z.string(),
      virtual_account: z.string().nullable(),
      counterparty_name: z.string().nullable(),
      counterparty_account: z.string().nullable(),
    }),
  ),
});
export type StatementApiReply = z.infer<typeof StatementApiReply>;

export function statementFromApiReply(reply: StatementApiReply): ParsedStatement {
  return {
    accountNumber: reply.account_number,
    openingBalanceVnd: reply.opening_balance_vnd,
    closingBalanceVnd: reply.closing_balance_vnd,
    lines: reply.transactions.map((t) => ({
      bookedOn: reply.date,
      bookedAt: new Date(t.booked_at).toISOString(),
      direction: t.direction,
      amountVnd: t.amount_vnd,
      bankTransactionId: t.transaction_id,
      description: t.description,
      virtualAccount: t.virtual_account?.toUpperCase() ?? null,
      counterpartyName: t.counterparty_name,
      counterpartyAccount: t.counterparty_account,
      balanceAfterVnd: null,
      raw: t,
    })),
  };
}

/** Pulls one account's statement for a Vietnam date; the raw JSON is returned with it, to be stored verbatim. */
export async function fetchBankStatement(settings: StatementApiSettings, accountNumber: string, date: string, now: Date): Promise<{ statement: ParsedStatement; content: string }> {
  const url = new URL(`${settings.baseUrl}/statements`);
  url.searchParams.set('account_number', accountNumber);
  url.searchParams.set('date', date);
  const ts = String(Math.floor(now.getTime() / 1000));
  const res = await fetch(url, {
    headers: { 'x-api-key-id': settings.keyId, 'x-timestamp': ts, 'x-signature': signStatementRequest(settings.secret, 'GET', `${url.pathname}${url.search}`, ts) },
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`statement API answered ${res.status} for ${date}`);
  const content = await res.text();
  const reply = StatementApiReply.parse(JSON.parse(content));
  if (reply.account_number !== accountNumber || reply.date !== date) throw new Error('statement API answered for another account or date');
  return { statement: statementFromApiReply(reply), content };
}

/** Development and test credentials of the simulated bank's statement API (never used in production: config requires real ones). */
export const DEV_STATEMENT_API: Omit<StatementApiSettings, 'baseUrl'> = { keyId: 'school-fees-dev', secret: 'dev-only-statement-api-secret' };
