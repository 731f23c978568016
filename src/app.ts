import express, { type RequestHandler } from 'express';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { requireUser } from './http/auth';
import { AppError, errorMiddleware, notFoundRoute } from './http/errors';
import { idempotency } from './http/idempotency';
import { requestId, requestLogger } from './http/request-context';
import type { RouteDef } from './http/routes';
import { bankSimulatorRoutes } from './integrations/banks/bank-simulator';
import { type PopulationRegistry, RegistryUnavailableError } from './integrations/population-registry/population-registry';
import { registrySimulatorRoutes } from './integrations/population-registry/registry-simulator';
import { DEV_STATEMENT_API, type StatementApiSettings } from './integrations/statements/bank-statement-api';
import { TaxAuthoritySimulator, taxAuthoritySimulatorRoutes } from './integrations/tax-authority/tax-authority-simulator';
import type { IdentityProvider } from './integrations/vneid/identity-provider';
import { type VneidSimulatorSettings, vneidSimulatorRoutes } from './integrations/vneid/vneid-simulator';
import type { Scheduler } from './jobs/scheduler';
import type { Clock } from './lib/clock';
import type { AccessTokenSettings } from './modules/identity/access-tokens';
import { exemptionRoutes } from './modules/exemptions/exemptions.routes';
import { feeRoutes } from './modules/fees/fees.routes';
import { guardianRoutes } from './modules/guardians/guardians.routes';
import { identityRoutes } from './modules/identity/identity.routes';
import { invoiceRoutes } from './modules/invoices/invoices.routes';
import { jobRoutes } from './modules/jobs/jobs.routes';
import { paymentBundleRoutes } from './modules/payments/payment-bundles.routes';
import { paymentRoutes } from './modules/payments/payments.routes';
import { refundRoutes } from './modules/payments/refunds.routes';
import { reconciliationRoutes } from './modules/reconciliation/reconciliation.routes';
import { receiptRoutes } from './modules/receipts/receipts.routes';
import { reportRoutes } from './modules/reports/reports.routes';
import { schoolRoutes } from './modules/schools/schools.routes';
import { staffRoutes } from './modules/staff/staff.routes';
import { studentRoutes } from './modules/students/students.routes';
import { reminderRoutes } from './modules/reminders/reminders.routes';
import { DEV_ZNS_ACCESS_TOKEN } from './integrations/notifications/zalo-zns';
import { ZaloZnsSimulator, zaloZnsSimulatorRoutes } from './integrations/notifications/zalo-zns-simulator';
import { registerDomainMetrics } from './modules/system/domain-metrics';
import { type MetricsAccess, systemRoutes } from './modules/system/system.routes';
import { createMetrics, type Metrics } from './lib/metrics';
import { requestMetrics } from './http/request-metrics';

export interface AppDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
  tokens: AccessTokenSettings;
  identityProvider: IdentityProvider;
  /** Where parents' invoice links point (PUBLIC_BASE_URL). */
  publicBaseUrl: string;
  /** Present when the simulated VNeID issuer is enabled (development and tests). */
  vneidSimulator?: VneidSimulatorSettings;
  /**
   * The population registry (its HTTP client; in development and tests pointed at the simulator
   * below). Without one, linking answers 502 REGISTRY_UNAVAILABLE (benchmarks need none).
   */
  populationRegistry?: PopulationRegistry;
  /** The API key the simulated registry accepts; mounted with the other simulators. */
  registrySimulatorApiKey?: string;
  /** The scheduler of this replica (main.ts); tests and tools get one built on demand. */
  scheduler?: Scheduler;
  /** The banks' statement API the nightly job pulls (defaults to the bank simulator). */
  statementApi?: StatementApiSettings;
  /** The Prometheus registry (main.ts shares it with the jobs); buildApp makes one when absent. */
  metrics?: Metrics;
  /** Who may read /metrics (config.metrics); open without a token when absent (tests). */
  metricsAccess?: MetricsAccess;
  /** The access token the simulated Zalo ZNS accepts (config.zaloZns); the development default when absent. */
  zaloZnsAccessToken?: string;
}

/** The statement API settings in force: configured, or the simulator's on this service. */
export function statementApiOf(deps: Pick<AppDeps, 'statementApi' | 'publicBaseUrl'>): StatementApiSettings {
  return deps.statementApi ?? { ...DEV_STATEMENT_API, baseUrl: `${deps.publicBaseUrl}/sim/bank` };
}

const unconfiguredRegistry: PopulationRegistry = {
  findRelatives: () => Promise.reject(new RegistryUnavailableError('no population registry configured')),
};

/** Every route of the service, in one table: mounted below and compared with openapi.yaml by a test. */
export function allRoutes(deps: AppDeps): RouteDef[] {
  return [
    ...systemRoutes(deps),
    ...identityRoutes(deps),
    ...schoolRoutes(deps),
    ...studentRoutes(deps),
    ...staffRoutes(deps),
    ...feeRoutes(deps),
    ...exemptionRoutes(deps),
    ...invoiceRoutes(deps),
    ...paymentRoutes(deps),
    ...refundRoutes(deps),
    ...guardianRoutes({ ...deps, populationRegistry: deps.populationRegistry ?? unconfiguredRegistry }),
    ...reconciliationRoutes(deps),
    ...jobRoutes(deps),
    ...receiptRoutes(deps),
    ...paymentBundleRoutes(deps),
    ...reminderRoutes(deps),
    ...reportRoutes(deps),
    ...(deps.vneidSimulator ? vneidSimulatorRoutes({ db: deps.db, clock: deps.clock, settings: deps.vneidSimulator }) : []),
    // The bank simulator rides with the other simulators (development and tests only).
    ...(deps.vneidSimulator ? bankSimulatorRoutes({ ...deps, statementApi: statementApiOf(deps) }) : []),
    // ... and so does the tax authority's receiving service (issue 5).
    ...(deps.vneidSimulator ? taxAuthoritySimulatorRoutes(new TaxAuthoritySimulator()) : []),
    // ... and Zalo ZNS, which overdue reminders are sent through (issue 7).
    ...(deps.vneidSimulator ? zaloZnsSimulatorRoutes(new ZaloZnsSimulator(deps.zaloZnsAccessToken ?? DEV_ZNS_ACCESS_TOKEN)) : []),
    ...(deps.vneidSimulator && deps.registrySimulatorApiKey ? registrySimulatorRoutes({ db: deps.db, apiKey: deps.registrySimulatorApiKey }) : []),
  ];
}

function requireContentType(types: string[]): RequestHandler {
  return (req, _res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !types.some((t) => req.is(t))) {
      throw new AppError(415, 'invalid_request_error', 'UNSUPPORTED_MEDIA_TYPE', `Send the body as ${types.join(' or ')}.`, { param: 'content-type' });
    }
    next();
  };
}

function bodyParsers(kind: NonNullable<RouteDef['body']>): RequestHandler[] {
  switch (kind) {
    case 'json':
      return [requireContentType(['application/json']), express.json({ limit: '1mb', strict: true })];
    case 'csv':
      return [requireContentType(['text/csv']), express.text({ type: 'text/csv', limit: '2mb', defaultCharset: 'utf-8' })];
    case 'form':
      return [requireContentType(['application/x-www-form-urlencoded']), express.urlencoded({ extended: false, limit: '64kb' })];
    case 'text':
      // Statement files (CSV, camt.053 XML): read as text, validated by the statement parsers.
      return [requireContentType(['text/csv', 'application/xml', 'text/xml', 'text/plain']), express.text({ type: () => true, limit: '20mb', defaultCharset: 'utf-8' })];
    case 'raw':
      // Bank callbacks: the signature covers the exact bytes, so the body stays a Buffer.
      return [express.raw({ type: () => true, limit: '256kb' })];
    case 'none':
      return [];
  }
}

/** Builds the Express app without listening, for main.ts and for tests (which listen on port 0). */
export function buildApp(appDeps: AppDeps): express.Express {
  const metrics = appDeps.metrics ?? createMetrics();
  if (!appDeps.metrics) registerDomainMetrics(metrics, appDeps.db);
  const deps: AppDeps = { ...appDeps, metrics };
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(requestId, requestLogger(deps.logger), requestMetrics(metrics));

  const authenticate = requireUser(deps);
  const idempotent = idempotency(deps);
  for (const route of allRoutes(deps)) {
    const body = route.body ?? (route.method === 'get' || route.method === 'delete' ? 'none' : 'json');
    const chain: RequestHandler[] = [];
    if (route.auth === 'user') chain.push(authenticate);
    chain.push(...bodyParsers(body));
    if (route.idempotent) chain.push(idempotent);
    app[route.method](route.path, ...chain, route.handler);
  }

  app.use(notFoundRoute);
  app.use(errorMiddleware);
  return app;
}
