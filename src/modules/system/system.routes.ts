import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { parse } from 'yaml';
import { migrationsAreCurrent } from '../../db/migrate';
import { AppError } from '../../http/errors';
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

/** Liveness, readiness and the published contract. */
export function systemRoutes(deps: { db: Knex }): RouteDef[] {
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
        const current = await migrationsAreCurrent(deps.db).catch(() => {
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
  ];
}
