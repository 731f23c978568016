import type { Knex } from 'knex';

// Inbound bank notifications are stored verbatim first (raw first), then processed into payments,
// allocations to invoices, and exceptions for the accountant. Money history is insert-only.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- One callback endpoint per (school, provider, collection account), with its own secret; the
    -- endpoint id is in the callback URL, so the secret is known before the body is read.
    CREATE TABLE bank_endpoints (
      school_id             text NOT NULL REFERENCES schools (id),
      id                    text NOT NULL DEFAULT new_id('bep'),
      provider              text NOT NULL CHECK (provider IN ('sepay', 'casso', 'vnpay', 'direct', 'billpay')),
      collection_account_id text NOT NULL,
      secret                text NOT NULL CHECK (length(secret) >= 16),
      created_at            timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, collection_account_id) REFERENCES collection_accounts (school_id, id),
      UNIQUE (school_id, provider, collection_account_id)
    );
    CREATE INDEX bank_endpoints_id_idx ON bank_endpoints (id);

    CREATE TABLE bank_events (
      school_id       text NOT NULL REFERENCES schools (id),
      id              text NOT NULL DEFAULT new_id('bev'),
      endpoint_id     text NOT NULL,
      provider        text NOT NULL,
      external_id     text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
      amount_vnd      bigint NOT NULL CHECK (amount_vnd > 0),
      direction       text NOT NULL CHECK (direction IN ('in', 'out')),
      account_number  text NOT NULL,
      description     text NOT NULL,
      transfer        jsonb NOT NULL,
      raw_headers     jsonb NOT NULL,
      raw_body        text NOT NULL,
      raw_query       jsonb NOT NULL,
      received_at     timestamptz NOT NULL,
      status          text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'ignored')),
      processed_at    timestamptz,
      response_status smallint NOT NULL,
      response_body   jsonb NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, endpoint_id) REFERENCES bank_endpoints (school_id, id),
      -- A replayed notification is the same event: stored once per endpoint. Per endpoint, not per
      -- provider: two partner banks may each use the same transaction id for different money.
      UNIQUE (school_id, endpoint_id, external_id)
    );
    CREATE INDEX bank_events_unprocessed_idx ON bank_events (school_id, received_at) WHERE status = 'received';

    CREATE TABLE payments (
      school_id             text NOT NULL REFERENCES schools (id),
      id                    text NOT NULL DEFAULT new_id('pay'),
      bank_event_id         text,
      provider              text NOT NULL CHECK (provider IN ('sepay', 'casso', 'vnpay', 'direct', 'billpay', 'manual')),
      collection_account_id text,
      person_id             text REFERENCES people (id),
      payment_code          text,
      amount_vnd            bigint NOT NULL CHECK (amount_vnd > 0),
      status                text NOT NULL CHECK (status IN ('attributed', 'unattributed')),
      occurred_at           timestamptz,
      recorded_at           timestamptz NOT NULL,
      -- Manual payments (exceptional cash) carry who recorded them and why.
      recorded_by           text REFERENCES people (id),
      reason                text,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, bank_event_id) REFERENCES bank_events (school_id, id),
      -- A payment is recorded once per bank event.
      UNIQUE (school_id, bank_event_id),
      CHECK ((status = 'attributed') = (person_id IS NOT NULL)),
      CHECK ((provider = 'manual') = (bank_event_id IS NULL)),
      CHECK (provider <> 'manual' OR (recorded_by IS NOT NULL AND reason IS NOT NULL))
    );
    CREATE INDEX payments_person_idx ON payments (school_id, person_id);

    -- What a payment (or a student's credit) paid on an invoice. Reversals are negative rows.
    CREATE TABLE allocations (
      school_id   text NOT NULL,
      id          text NOT NULL DEFAULT new_id('alc'),
      invoice_id  text NOT NULL,
      payment_id  text,
      source      text NOT NULL CHECK (source IN ('payment', 'credit')),
      amount_vnd  bigint NOT NULL CHECK (amount_vnd <> 0),
      created_at  timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, invoice_id) REFERENCES invoices (school_id, id),
      FOREIGN KEY (school_id, payment_id) REFERENCES payments (school_id, id),
      CHECK ((source = 'payment') = (payment_id IS NOT NULL))
    );
    CREATE INDEX allocations_invoice_idx ON allocations (school_id, invoice_id);
    CREATE INDEX allocations_payment_idx ON allocations (school_id, payment_id);

    CREATE TABLE payment_exceptions (
      school_id     text NOT NULL REFERENCES schools (id),
      id            text NOT NULL DEFAULT new_id('exc'),
      kind          text NOT NULL CHECK (kind IN ('unattributed', 'unknown_account', 'external_id_amount_mismatch', 'outgoing_transfer')),
      bank_event_id text,
      payment_id    text,
      amount_vnd    bigint NOT NULL,
      details       jsonb NOT NULL DEFAULT '{}'::jsonb,
      status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
      created_at    timestamptz NOT NULL,
      resolved_by   text REFERENCES people (id),
      resolved_at   timestamptz,
      resolution    jsonb,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, bank_event_id) REFERENCES bank_events (school_id, id),
      FOREIGN KEY (school_id, payment_id) REFERENCES payments (school_id, id),
      CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
    );
    CREATE INDEX payment_exceptions_open_idx ON payment_exceptions (school_id, created_at) WHERE status = 'open';

    CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
    CREATE TRIGGER allocations_append_only BEFORE UPDATE OR DELETE ON allocations FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE payment_exceptions, allocations, payments, bank_events, bank_endpoints;');
}
