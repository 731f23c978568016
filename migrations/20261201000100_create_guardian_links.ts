import type { Knex } from 'knex';

// Guardians are linked to students only from national identity evidence (DESIGN 4): the population
// registry, or a chip-card read at school confirmed by staff. Links and their history are
// cross-school (a guardian may have children at several schools) and reference only people.
// Card readers and their signed reads belong to a school.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE guardian_links (
      id                 text PRIMARY KEY DEFAULT new_id('gdl'),
      guardian_person_id text NOT NULL REFERENCES people (id),
      student_person_id  text NOT NULL REFERENCES people (id),
      relation           text CHECK (relation IN ('father', 'mother', 'legal_guardian')),
      status             text NOT NULL CHECK (status IN ('pending', 'verified', 'rejected', 'revoked')),
      verified_by        text CHECK (verified_by IN ('population_registry', 'chip_card')),
      requested_at       timestamptz NOT NULL,
      updated_at         timestamptz NOT NULL,
      CHECK (guardian_person_id <> student_person_id),
      -- A verified link says on what evidence; a pending or rejected one has none.
      CHECK (status <> 'verified' OR verified_by IS NOT NULL),
      CHECK (status NOT IN ('pending', 'rejected') OR verified_by IS NULL)
    );
    -- One live (pending or verified) link per guardian and student; rejected and revoked ones stay as history.
    CREATE UNIQUE INDEX guardian_links_live_key ON guardian_links (guardian_person_id, student_person_id) WHERE status IN ('pending', 'verified');
    CREATE INDEX guardian_links_student_idx ON guardian_links (student_person_id);

    -- Every transition: who, when, on what evidence. Insert-only.
    CREATE TABLE guardian_link_events (
      id              text PRIMARY KEY DEFAULT new_id('gle'),
      -- Insertion order: several transitions can share one instant (a registry check verifies at once).
      event_no        bigint GENERATED ALWAYS AS IDENTITY,
      link_id         text NOT NULL REFERENCES guardian_links (id),
      from_status     text,
      to_status       text NOT NULL,
      actor_person_id text NOT NULL REFERENCES people (id),
      actor_role      text NOT NULL CHECK (actor_role IN ('guardian', 'accountant', 'school_admin')),
      -- The school where staff acted (plain text, no foreign key: this table is cross-school).
      at_school_id    text,
      evidence        jsonb NOT NULL DEFAULT '{}',
      note            text,
      occurred_at     timestamptz NOT NULL
    );
    CREATE INDEX guardian_link_events_link_idx ON guardian_link_events (link_id, event_no);
    CREATE TRIGGER guardian_link_events_append_only BEFORE UPDATE OR DELETE ON guardian_link_events FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();

    -- Chip-card readers a school registered; each signs its reads with its own Ed25519 key.
    CREATE TABLE card_readers (
      school_id   text NOT NULL REFERENCES schools (id),
      id          text NOT NULL DEFAULT new_id('rdr'),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      public_key  text NOT NULL,
      created_by  text NOT NULL REFERENCES people (id),
      created_at  timestamptz NOT NULL,
      revoked_at  timestamptz,
      PRIMARY KEY (school_id, id)
    );

    -- What a reader read from a chip card (never the raw chip images), kept as evidence.
    CREATE TABLE chip_reads (
      school_id      text NOT NULL REFERENCES schools (id),
      id             text NOT NULL DEFAULT new_id('chr'),
      reader_id      text NOT NULL,
      personal_id    char(12) NOT NULL CHECK (personal_id ~ '^[0-9]{12}$'),
      full_name      text NOT NULL,
      date_of_birth  date NOT NULL,
      father_name    text,
      mother_name    text,
      read_at        timestamptz NOT NULL,
      received_at    timestamptz NOT NULL,
      payload_sha256 text NOT NULL,
      signature      text NOT NULL,
      submitted_by   text NOT NULL REFERENCES people (id),
      -- A read confirms at most one link.
      used_for_link_id text,
      used_at        timestamptz,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, reader_id) REFERENCES card_readers (school_id, id),
      -- The same signed read submitted twice is a replay.
      UNIQUE (school_id, reader_id, payload_sha256),
      CHECK ((used_for_link_id IS NULL) = (used_at IS NULL))
    );

    -- The simulated population registry's own records (the outside system's state, used only by
    -- the simulator under /sim/registry): who the registry lists as a child's father, mother or
    -- legal guardian.
    CREATE TABLE sim_registry_relations (
      student_personal_id char(12) NOT NULL,
      relation            text NOT NULL CHECK (relation IN ('father', 'mother', 'legal_guardian')),
      personal_id         char(12) NOT NULL,
      full_name           text NOT NULL,
      date_of_birth       date NOT NULL,
      gender              text NOT NULL CHECK (gender IN ('male', 'female')),
      PRIMARY KEY (student_personal_id, relation)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE sim_registry_relations, chip_reads, card_readers, guardian_link_events, guardian_links;');
}
