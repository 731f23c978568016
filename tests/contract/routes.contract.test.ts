import type { Knex } from 'knex';
import { allRoutes, type AppDeps } from '../../src/app';
import { toOpenApiPath } from '../../src/http/routes';
import { fixedClock } from '../../src/lib/clock';
import { createLogger } from '../../src/logger';
import { generateSigningKey } from '../../src/modules/identity/signing-keys';
import { openapi } from '../support/contract';

/** Every route the app mounts is in openapi.yaml, and every documented operation is mounted. */
describe('openapi.yaml', () => {
  const key = generateSigningKey();
  const deps: AppDeps = {
    db: {} as Knex,
    clock: fixedClock(new Date()),
    logger: createLogger('silent'),
    tokens: { key, issuer: 'i', audience: 'a', ttlSeconds: 60 },
    identityProvider: {
      authorizationUrl: async () => '',
      exchangeCode: async () => {
        throw new Error('unused');
      },
    },
    vneidSimulator: { issuerUrl: 'http://x', clientId: 'c', clientSecret: 's', redirectUri: 'http://x/cb', key },
    publicBaseUrl: 'http://x',
    registrySimulatorApiKey: 'registry-key-for-the-route-table',
  };
  const mounted = allRoutes(deps).map((r) => `${r.method.toUpperCase()} ${toOpenApiPath(r.path)}`).sort();
  const documented = Object.entries(openapi.paths)
    .flatMap(([p, item]) => Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map((m) => `${m.toUpperCase()} ${p}`))
    .sort();

  test('documents every mounted route', () => {
    expect(mounted.filter((r) => !documented.includes(r))).toEqual([]);
  });

  test('documents no route that does not exist', () => {
    expect(documented.filter((r) => !mounted.includes(r))).toEqual([]);
  });

  test('every user route requires bearer auth in the document, every public route none', () => {
    const problems: string[] = [];
    for (const route of allRoutes(deps)) {
      const op = (openapi.paths[toOpenApiPath(route.path)] as Record<string, { security?: unknown[] }>)[route.method];
      const requiresAuth = (op?.security ?? (openapi as { security?: unknown[] }).security ?? []).length > 0;
      if (requiresAuth !== (route.auth === 'user')) problems.push(`${route.method} ${route.path}`);
    }
    expect(problems).toEqual([]);
  });
});
