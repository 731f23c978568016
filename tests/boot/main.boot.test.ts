import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/db/embedded';
import { createTestDatabase, type TestDatabase } from '../support/test-db';

/**
 * Boots the real entry point (src/main.ts) against a fresh, empty database: it must migrate, seed,
 * answer /ready, sign someone in through the simulated VNeID, and stop cleanly on SIGTERM.
 */
let database: TestDatabase;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  database = await createTestDatabase({ seeded: false });
  // Empty: our schema and the bank simulator's (sim_bank).
  await database.db.raw('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS sim_bank CASCADE; CREATE SCHEMA public');
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await database.drop();
});

async function waitForReady(baseUrl: string, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      if ((await fetch(`${baseUrl}/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready after ${timeoutMs} ms:\n${output}`);
}

test('the entry point migrates and seeds an empty database, signs in through VNeID, and stops on SIGTERM', async () => {
  const port = await findFreePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const proc = spawn(process.execPath, [require.resolve('tsx/cli'), 'src/main.ts'], {
    cwd: path.resolve(__dirname, '../..'),
    env: { PATH: process.env.PATH, DATABASE_URL: database.url, PORT: String(port), PUBLIC_BASE_URL: baseUrl, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'fees-boot-')), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  proc.stdout?.on('data', (d) => (output += d));
  proc.stderr?.on('data', (d) => (output += d));

  await waitForReady(baseUrl, 60_000);
  expect(output).toContain('demo data seeded');

  const login = await fetch(`${baseUrl}/auth/vneid/login`, { redirect: 'manual' });
  const form = new URLSearchParams(new URL(login.headers.get('location') as string).searchParams);
  form.set('personal_id', '079075000101');
  const approved = await fetch(`${baseUrl}/sim/vneid/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  const callback = await fetch(approved.headers.get('location') as string);
  const signedIn = (await callback.json()) as { access_token: string };
  const me = await fetch(`${baseUrl}/v1/me`, { headers: { authorization: `Bearer ${signedIn.access_token}` } });
  expect(me.status).toBe(200);
  expect(((await me.json()) as { full_name: string }).full_name).toBe('Trần Văn Hùng');

  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  proc.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(output).toContain('"msg":"stopped"');
}, 90_000);
