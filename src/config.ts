import { z } from 'zod';

/**
 * Every environment variable the service reads, parsed once at boot. Nothing else reads
 * process.env. The README's configuration table documents each of these.
 */
const booleanFlag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    DATABASE_URL: z.url().optional(),
    DATA_DIR: z.string().min(1).default('.data'),
    PUBLIC_BASE_URL: z.url().optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SEED_DEMO_DATA: booleanFlag.optional(),
    JWT_PRIVATE_KEY: z.string().min(1).optional(),
    JWT_ISSUER: z.string().min(1).default('school-fees'),
    JWT_AUDIENCE: z.string().min(1).default('school-fees-api'),
    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(900),
    VNEID_SIMULATOR: booleanFlag.optional(),
    VNEID_ISSUER_URL: z.url().optional(),
    VNEID_CLIENT_ID: z.string().min(1).default('school-fees'),
    VNEID_CLIENT_SECRET: z.string().min(1).default('dev-only-client-secret'),
    VNEID_SIMULATOR_PRIVATE_KEY: z.string().min(1).optional(),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(10000),
    DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
    BANK_EVENT_RETRY_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    POPULATION_REGISTRY_URL: z.url().optional(),
    POPULATION_REGISTRY_API_KEY: z.string().min(16).default('dev-only-registry-api-key'),
    JOBS_ENABLED: booleanFlag.optional(),
    BANK_STATEMENT_API_URL: z.url().optional(),
    BANK_STATEMENT_API_KEY_ID: z.string().min(1).optional(),
    BANK_STATEMENT_API_SECRET: z.string().min(16).optional(),
    RECEIPT_SWEEP_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    TAX_AUTHORITY_URL: z.url().optional(),
    TAX_OUTBOX_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    TAX_SUBMIT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(10000),
    METRICS_TOKEN: z.string().min(16).optional(),
    ZALO_ZNS_URL: z.url().optional(),
    ZALO_ZNS_ACCESS_TOKEN: z.string().min(16).default('dev-only-zalo-zns-access-token'),
    REMINDER_DELIVERY_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  })
  .transform((env) => {
    const isProduction = env.NODE_ENV === 'production';
    const publicBaseUrl = (env.PUBLIC_BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, '');
    const vneidSimulator = env.VNEID_SIMULATOR ?? !isProduction;
    return {
      nodeEnv: env.NODE_ENV,
      isProduction,
      port: env.PORT,
      databaseUrl: env.DATABASE_URL,
      dataDir: env.DATA_DIR,
      publicBaseUrl,
      publicBaseUrlConfigured: env.PUBLIC_BASE_URL !== undefined,
      logLevel: env.LOG_LEVEL,
      seedDemoData: env.SEED_DEMO_DATA ?? !isProduction,
      dbPoolMax: env.DB_POOL_MAX,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      bankEventRetryMs: env.BANK_EVENT_RETRY_SECONDS * 1000,
      jobsEnabled: env.JOBS_ENABLED ?? true,
      // Unset: the bank simulator's statement API on this service (development).
      statementApi: env.BANK_STATEMENT_API_URL
        ? { baseUrl: env.BANK_STATEMENT_API_URL.replace(/\/$/, ''), keyId: env.BANK_STATEMENT_API_KEY_ID ?? '', secret: env.BANK_STATEMENT_API_SECRET ?? '' }
        : undefined,
      receiptSweepMs: env.RECEIPT_SWEEP_SECONDS * 1000,
      taxAuthority: {
        // Without a URL the built-in simulator answers while simulators are on; with them off and no
        // URL, receipts wait in the outbox (main.ts does not start the worker and says so).
        url: env.TAX_AUTHORITY_URL ? env.TAX_AUTHORITY_URL.replace(/\/$/, '') : vneidSimulator ? `${publicBaseUrl}/sim/tax` : undefined,
        outboxEveryMs: env.TAX_OUTBOX_SECONDS * 1000,
        timeoutMs: env.TAX_SUBMIT_TIMEOUT_MS,
      },
      // Overdue reminders go out through Zalo ZNS; unset, the built-in simulator while simulators are
      // on, and with them off nothing is sent (reminders wait in their outbox; main.ts says so).
      zaloZns: {
        url: env.ZALO_ZNS_URL ? env.ZALO_ZNS_URL.replace(/\/$/, '') : vneidSimulator ? `${publicBaseUrl}/sim/zalo` : undefined,
        accessToken: env.ZALO_ZNS_ACCESS_TOKEN,
        everyMs: env.REMINDER_DELIVERY_SECONDS * 1000,
      },
      // /metrics: with a token, only `Authorization: Bearer <METRICS_TOKEN>`; without one, open
      // outside production and refused in production (metrics name routes, schools' volumes).
      metrics: { token: env.METRICS_TOKEN, openWithoutToken: !isProduction },
      jwt: {
        privateKeyPem: env.JWT_PRIVATE_KEY,
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      },
      populationRegistry: {
        url: (env.POPULATION_REGISTRY_URL ?? `${publicBaseUrl}/sim/registry`).replace(/\/$/, ''),
        urlConfigured: env.POPULATION_REGISTRY_URL !== undefined,
        apiKey: env.POPULATION_REGISTRY_API_KEY,
      },
      vneid: {
        simulator: vneidSimulator,
        issuerUrl: (env.VNEID_ISSUER_URL ?? `${publicBaseUrl}/sim/vneid`).replace(/\/$/, ''),
        issuerUrlConfigured: env.VNEID_ISSUER_URL !== undefined,
        clientId: env.VNEID_CLIENT_ID,
        clientSecret: env.VNEID_CLIENT_SECRET,
        simulatorPrivateKeyPem: env.VNEID_SIMULATOR_PRIVATE_KEY,
        redirectUri: `${publicBaseUrl}/auth/vneid/callback`,
      },
    };
  })
  .superRefine((config, ctx) => {
    if (!config.isProduction) return;
    if (!config.databaseUrl) ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: 'required in production' });
    if (!config.jwt.privateKeyPem) ctx.addIssue({ code: 'custom', path: ['JWT_PRIVATE_KEY'], message: 'required in production' });
    if (!config.publicBaseUrlConfigured) {
      ctx.addIssue({ code: 'custom', path: ['PUBLIC_BASE_URL'], message: 'required in production (the VNeID redirect URI is built from it)' });
    }
    if (!config.vneid.simulator && !config.vneid.issuerUrlConfigured) {
      ctx.addIssue({ code: 'custom', path: ['VNEID_ISSUER_URL'], message: 'required when the VNeID simulator is off' });
    }
    if (!config.vneid.simulator && !config.populationRegistry.urlConfigured) {
      ctx.addIssue({ code: 'custom', path: ['POPULATION_REGISTRY_URL'], message: 'required when the simulators are off' });
    }
    if (config.populationRegistry.apiKey === 'dev-only-registry-api-key') {
      ctx.addIssue({ code: 'custom', path: ['POPULATION_REGISTRY_API_KEY'], message: 'set the registry API key in production' });
    }
    if (config.statementApi && (!config.statementApi.keyId || !config.statementApi.secret)) {
      ctx.addIssue({ code: 'custom', path: ['BANK_STATEMENT_API_SECRET'], message: 'BANK_STATEMENT_API_KEY_ID and BANK_STATEMENT_API_SECRET go with BANK_STATEMENT_API_URL' });
    }
    if (config.vneid.clientSecret === 'dev-only-client-secret') {
      ctx.addIssue({ code: 'custom', path: ['VNEID_CLIENT_SECRET'], message: 'set a real client secret in production' });
    }
  });

export type Config = z.output<typeof ConfigSchema>;

/** Parses the environment once; throws a readable error naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${problems}`);
  }
  return Object.freeze(parsed.data);
}
