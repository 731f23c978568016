import type { Knex } from 'knex';

// Taking over the run of a crashed replica (src/jobs/run-coordinator.ts). A replica renews its
// run's lease (lease_until) while the run executes; a run still `running` after its lease has
// passed belonged to a replica that died (or stalled longer than the lease), and another replica
// may claim it by one atomic UPDATE that moves the runner and raises `attempt`. The runner and
// attempt fence the old runner out: its heartbeat and its finish name the attempt they hold, and
// match nothing once the run is taken over.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE job_runs ADD COLUMN attempt integer NOT NULL DEFAULT 1 CHECK (attempt BETWEEN 1 AND 100);
    CREATE INDEX job_runs_stale_idx ON job_runs (lease_until) WHERE status = 'running';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX job_runs_stale_idx; ALTER TABLE job_runs DROP COLUMN attempt;');
}
