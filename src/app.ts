import express, { type RequestHandler } from 'express';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { requireUser } from './http/auth';
import { AppError, errorMiddleware, notFoundRoute } from './http/errors';
import { idempotency } from './http/idempotency';
import { requestId, requestLogger } from './http/request-context';
import type { RouteDef } from './http/routes';
import { bankSimulatorRoutes } from './integrations/banks/bank-simulator';
import type { IdentityProvider } from './integrations/vneid/identity-provider';
import { type VneidSimulatorSettings, vneidSimulatorRoutes } from './integrations/vneid/vneid-simulator';
import type { Clock } from './lib/clock';
import type { AccessTokenSettings } from './modules/identity/access-tokens';
import { exemptionRoutes } from './modules/exemptions/exemptions.routes';
import { feeRoutes } from './modules/fees/fees.routes';
import { identityRoutes } from './modules/identity/identity.routes';
import { invoiceRoutes } from './modules/invoices/invoices.routes';
import { paymentRoutes } from './modules/payments/payments.routes';
import { schoolRoutes } from './modules/schools/schools.routes';
import { staffRoutes } from './modules/staff/staff.routes';
import { studentRoutes } from './modules/students/students.routes';
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
  /** The Prometheus registry (main.ts shares it with the jobs); buildApp makes one when absent. */
  metrics?: Metrics;
  /** Who may read /metrics (config.metrics); open without a token when absent (tests). */
  metricsAccess?: MetricsAccess;
}

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
    ...(deps.vneidSimulator ? vneidSimulatorRoutes({ db: deps.db, clock: deps.clock, settings: deps.vneidSimulator }) : []),
    // The bank simulator rides with the other simulators (development and tests only).
    ...(deps.vneidSimulator ? bankSimulatorRoutes(deps) : []),
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
