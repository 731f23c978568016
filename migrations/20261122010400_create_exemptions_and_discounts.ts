import type { Knex } from 'knex';

// Exemptions (100/70/50 %) go through maker-checker: proposed by an accountant, effective only once
// a school admin approves. Discounts are explicit and carry a reason code.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE exemptions (
      school_id    text NOT NULL REFERENCES schools (id),
      id           text NOT NULL DEFAULT new_id('exm'),
      person_id    text NOT NULL REFERENCES people (id),
      category     text NOT NULL CHECK (category IN ('meritorious_family', 'disability', 'orphan', 'poor_ethnic_minority', 'ethnic_minority_difficult_commune', 'occupational_accident')),
      percent      smallint NOT NULL CHECK (percent IN (50, 70, 100)),
      valid_from   date NOT NULL,
      valid_to     date NOT NULL,
      evidence_ref text NOT NULL CHECK (length(evidence_ref) BETWEEN 1 AND 200),
      status       text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'approved', 'rejected')),
      proposed_by  text NOT NULL REFERENCES people (id),
      proposed_at  timestamptz NOT NULL,
      decided_by   text REFERENCES people (id),
      decided_at   timestamptz,
      decision_note text,
      PRIMARY KEY (school_id, id),
      CHECK (valid_to >= valid_from),
      CHECK ((status = 'proposed') = (decided_at IS NULL)),
      CHECK (decided_by IS NULL OR decided_by <> proposed_by)
    );
    CREATE INDEX exemptions_person_idx ON exemptions (school_id, person_id) WHERE status = 'approved';

    CREATE TABLE discounts (
      school_id   text NOT NULL REFERENCES schools (id),
      id          text NOT NULL DEFAULT new_id('dsc'),
      person_id   text NOT NULL REFERENCES people (id),
      fee_item_id text NOT NULL,
      percent     numeric(5, 2) CHECK (percent > 0 AND percent <= 100),
      amount_vnd  bigint CHECK (amount_vnd > 0),
      reason_code text NOT NULL CHECK (reason_code ~ '^[A-Z0-9_]{2,40}$'),
      valid_from  date NOT NULL,
      valid_to    date NOT NULL,
      created_by  text NOT NULL REFERENCES people (id),
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id),
      CHECK ((percent IS NULL) <> (amount_vnd IS NULL)),
      CHECK (valid_to >= valid_from)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE discounts, exemptions;');
}
