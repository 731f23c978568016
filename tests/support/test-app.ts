import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { buildApp } from '../../src/app';
import { createRegistryClient } from '../../src/integrations/population-registry/registry-client';
import { createOidcClient } from '../../src/integrations/vneid/oidc-client';
import { fixedClock } from '../../src/lib/clock';
import { createLogger } from '../../src/logger';
import { type AccessTokenSettings, issueAccessToken } from '../../src/modules/identity/access-tokens';
import { generateSigningKey, type SigningKey } from '../../src/modules/identity/signing-keys';
import { stopRequestedReceiptIssuing } from '../../src/modules/receipts/receipt-issuing.service';
import { createTestDatabase, type TestDatabase } from './test-db';

// Key generation is slow-ish; one pair per test file is enough.
let keys: { tokens: SigningKey; vneid: SigningKey } | undefined;
function testKeys() {
  keys ??= { tokens: generateSigningKey(), vneid: generateSigningKey() };
  return keys;
}

export const CLIENT_ID = 'school-fees-test';
export const CLIENT_SECRET = 'test-client-secret';
export const REGISTRY_API_KEY = 'test-registry-api-key';

export interface TestApp {
  baseUrl: string;
  server: Server;
  db: Knex;
  database: TestDatabase;
  clock: ReturnType<typeof fixedClock>;
  tokens: AccessTokenSettings;
  vneidKey: SigningKey;
  /** Every log line written by the app, parsed. */
  logs: Record<string, unknown>[];
  /** Raw log text (to search for leaked personal data). */
  logText(): string;
  tokenFor(personalId: string): string;
  close(): Promise<void>;
}

/**
 * The app on a real port with its own fresh database, a movable clock, and the simulated VNeID
 * wired to itself (the OIDC client talks HTTP to the simulator, as it would to the real issuer).
 */
export async function startTestApp(options: { seeded?: boolean; now?: Date } = {}): Promise<TestApp> {
  const database = await createTestDatabase({ seeded: options.seeded ?? true });
  const clock = fixedClock(options.now ?? new Date('2026-11-22T03:00:00Z'));
  const logs: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      const text = chunk.toString();
      raw.push(text);
      for (const line of text.split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger('info', sink);
  const { tokens: tokenKey, vneid: vneidKey } = testKeys();
  const tokens: AccessTokenSettings = { key: tokenKey, issuer: 'school-fees-test', audience: 'school-fees-api-test', ttlSeconds: 900 };

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuerUrl = `${baseUrl}/sim/vneid`;
  const redirectUri = `${baseUrl}/auth/vneid/callback`;
  const app = buildApp({
    db: database.db,
    clock,
    logger,
    tokens,
    identityProvider: createOidcClient({ issuerUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri }, clock),
    vneidSimulator: { issuerUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri, key: vneidKey },
    publicBaseUrl: baseUrl,
    populationRegistry: createRegistryClient({ baseUrl: `${baseUrl}/sim/registry`, apiKey: REGISTRY_API_KEY }),
    registrySimulatorApiKey: REGISTRY_API_KEY,
  });
  server.on('request', app);

  return {
    baseUrl,
    server,
    db: database.db,
    database,
    clock,
    tokens,
    vneidKey,
    logs,
    logText: () => raw.join(''),
    tokenFor: (personalId) => issueAccessToken(tokens, clock, personalId, []).token,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopRequestedReceiptIssuing(database.db);
      await database.drop();
    },
  };
}
