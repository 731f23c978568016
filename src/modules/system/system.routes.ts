import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { parse } from 'yaml';
import { migrationsAreCurrent } from '../../db/migrate';
import { AppError, AuthenticationError } from '../../http/errors';
import type { Metrics } from '../../lib/metrics';
import type { RouteDef } from '../../http/routes';
import { renderDocsPage } from './docs-page';

/** openapi.yaml sits at the project root: three folders up from src/, four from dist/src/. */
function findOpenApiFile(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'openapi.yaml');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('openapi.yaml not found above ' + __dirname);
}
const OPENAPI_FILE = findOpenApiFile();

/** Who may read /metrics: the bearer token when set, otherwise everyone or no one. */
export interface MetricsAccess {
  token?: string;
  openWithoutToken: boolean;
}

/** How long /ready waits for the database before it says 503 (a dead server can hang a connect). */
const READY_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function requireMetricsAccess(access: MetricsAccess, authorization: string | undefined): void {
  if (access.token === undefined) {
    if (access.openWithoutToken) return;
    throw new AppError(403, 'permission_error', 'METRICS_DISABLED', 'Set METRICS_TOKEN to read metrics in production.');
  }
  const given = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (!timingSafeEqual(digest(given), digest(access.token))) throw new AuthenticationError('UNAUTHENTICATED', 'Send the metrics token as `Authorization: Bearer <METRICS_TOKEN>`.');
}

/** Liveness, readiness, metrics and the published contract. */
export function systemRoutes(deps: { db: Knex; metrics?: Metrics; metricsAccess?: MetricsAccess }): RouteDef[] {
  const openapiText = readFileSync(OPENAPI_FILE, 'utf8');
  const docsHtml = renderDocsPage(parse(openapiText));
  return [
    {
      method: 'get',
      path: '/health',
      auth: 'public',
      handler: (_req, res) => {
        res.json({ status: 'ok' });
      },
    },
    {
      method: 'get',
      path: '/ready',
      auth: 'public',
      handler: async (_req, res) => {
        const current = await withTimeout(migrationsAreCurrent(deps.db), READY_TIMEOUT_MS).catch(() => {
          throw new AppError(503, 'api_error', 'DATABASE_UNAVAILABLE', 'The database is not reachable.');
        });
        if (!current) throw new AppError(503, 'api_error', 'MIGRATIONS_PENDING', 'The database schema is not at the latest migration.');
        res.json({ status: 'ready' });
      },
    },
    {
      method: 'get',
      path: '/openapi.yaml',
      auth: 'public',
      handler: (_req, res) => {
        res.type('application/yaml').send(openapiText);
      },
    },
    {
      method: 'get',
      path: '/docs',
      auth: 'public',
      handler: (_req, res) => {
        res.type('html').send(docsHtml);
      },
    },
    {
      method: 'get',
      path: '/metrics',
      auth: 'public',
      handler: async (req, res) => {
        requireMetricsAccess(deps.metricsAccess ?? { openWithoutToken: true }, req.get('authorization'));
        if (!deps.metrics) throw new AppError(503, 'api_error', 'METRICS_UNAVAILABLE', 'No metrics registry.');
        res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
      },
    },
  ];
}
