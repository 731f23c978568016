import type { Knex } from 'knex';

// Monthly finance reports (issue 8): roll-up tables kept by triggers in the transaction that moves
// the money, so a report reads a few thousand rows and always ties out with the raw history; and
// month-end close.
//
// - The roll-up tables hold deltas: each trigger statement appends its sums (one row per key it
//   touched) and never updates a row, so money transactions of one school never wait for each
//   other on a shared roll-up row (a bulk issue held open would otherwise stall that school's
//   callbacks). Reads sum the rows of a key; compaction (the reports service, every few minutes
//   and before a close) replaces a key's rows by their sum.
// - Every money event has a business month (the Vietnam month of its date: an invoice's issue or
//   void, a payment's occurrence for what it pays, a credit note's or allocation from credit's
//   creation, a journal's posting for credit balances, a receipt's issue or cancellation). It is
//   accounted in that month, or, when the school has closed that month, in the first month after
//   it that is still open; such a move is recorded in report_period_moves with the month the
//   event concerns.
// - closed_months: one row per closed (school, month), with the month's report as canonical JSON
//   bytes and its SHA-256. Insert-only. Roll-up rows of a closed month can no longer be inserted,
//   updated or deleted (statement triggers below), and an issued invoice of a closed month cannot
//   be voided. The refusal is SQLSTATE RP001, which the API answers 409 PERIOD_CLOSED.
// - Closing takes the school's period lock exclusively; every roll-up trigger takes it shared
//   before it reads closed_months, so a money transaction either commits before the close reads the
//   roll-ups or sees the closed month and moves its event.
// - The triggers' set-based statements run through EXECUTE, so each is planned for the rows it has
//   (a callback batch of a few rows: index lookups; a bulk issue of 100,000 invoices: hash joins).
//   A PL/pgSQL plan cached from one would otherwise serve the other.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE closed_months (
      school_id        text NOT NULL REFERENCES schools (id),
      month            date NOT NULL CHECK (extract(day FROM month) = 1),
      closed_at        timestamptz NOT NULL,
      closed_by        text NOT NULL REFERENCES people (id),
      open_exceptions  integer NOT NULL CHECK (open_exceptions >= 0),
      override_reason  text CHECK (override_reason IS NULL OR length(override_reason) BETWEEN 3 AND 500),
      report_json      text NOT NULL,
      report_sha256    text NOT NULL CHECK (report_sha256 ~ '^[0-9a-f]{64}$'),
      PRIMARY KEY (school_id, month),
      -- Closing over open reconciliation exceptions needs a stated reason.
      CHECK (open_exceptions = 0 OR override_reason IS NOT NULL)
    );
    CREATE TRIGGER closed_months_append_only BEFORE UPDATE OR DELETE ON closed_months FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();

    CREATE TABLE report_fee_item_months (
      school_id        text NOT NULL,
      month            date NOT NULL,
      fee_item_id      text NOT NULL,
      billed_vnd       bigint NOT NULL DEFAULT 0,
      exempted_vnd     bigint NOT NULL DEFAULT 0,
      discounted_vnd   bigint NOT NULL DEFAULT 0,
      credit_notes_vnd bigint NOT NULL DEFAULT 0,
      id               bigint GENERATED ALWAYS AS IDENTITY,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id)
    );
    CREATE INDEX report_fee_item_months_month_idx ON report_fee_item_months (school_id, month);

    -- channel 'credit': allocations from a student's credit (not money collected in the month).
    CREATE TABLE report_collection_months (
      school_id   text NOT NULL,
      month       date NOT NULL,
      fee_item_id text NOT NULL,
      channel     text NOT NULL CHECK (channel IN ('bill_payment', 'qr_transfer', 'vnpay', 'manual', 'statement', 'credit')),
      amount_vnd  bigint NOT NULL DEFAULT 0,
      id          bigint GENERATED ALWAYS AS IDENTITY,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id)
    );
    CREATE INDEX report_collection_months_month_idx ON report_collection_months (school_id, month);

    -- Per school and month: the change of receivables (billed net - credit notes - allocations),
    -- of credit balances (from the ledger's credit accounts) and the credit refunded.
    CREATE TABLE report_school_months (
      school_id             text NOT NULL REFERENCES schools (id),
      month                 date NOT NULL,
      receivable_change_vnd bigint NOT NULL DEFAULT 0,
      credit_change_vnd     bigint NOT NULL DEFAULT 0,
      refunded_vnd          bigint NOT NULL DEFAULT 0,
      id                    bigint GENERATED ALWAYS AS IDENTITY,
      PRIMARY KEY (school_id, id)
    );
    CREATE INDEX report_school_months_month_idx ON report_school_months (school_id, month);

    CREATE TABLE report_receipt_months (
      school_id       text NOT NULL,
      month           date NOT NULL,
      template_code   text NOT NULL,
      symbol          text NOT NULL,
      first_number    integer,
      last_number     integer,
      issued_count    integer NOT NULL DEFAULT 0,
      cancelled_count integer NOT NULL DEFAULT 0,
      amount_vnd      bigint NOT NULL DEFAULT 0,
      id              bigint GENERATED ALWAYS AS IDENTITY,
      PRIMARY KEY (school_id, id)
    );
    CREATE INDEX report_receipt_months_month_idx ON report_receipt_months (school_id, month);

    -- A late event: accounted in month (open) though it concerns concerns_month (closed).
    CREATE TABLE report_period_moves (
      school_id      text NOT NULL,
      source_kind    text NOT NULL CHECK (source_kind IN ('allocation', 'invoice_issued', 'invoice_voided', 'credit_note', 'journal', 'receipt', 'receipt_cancellation')),
      source_id      text NOT NULL,
      concerns_month date NOT NULL,
      month          date NOT NULL,
      recorded_at    timestamptz NOT NULL,
      PRIMARY KEY (school_id, source_kind, source_id),
      CHECK (month > concerns_month)
    );
    CREATE INDEX report_period_moves_month_idx ON report_period_moves (school_id, month);
    CREATE TRIGGER report_period_moves_append_only BEFORE UPDATE OR DELETE ON report_period_moves FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();

    CREATE FUNCTION report_month_of(at timestamptz) RETURNS date LANGUAGE sql IMMUTABLE AS $$
      SELECT date_trunc('month', at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
    $$;

    CREATE FUNCTION report_channel(provider text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE provider
        WHEN 'billpay' THEN 'bill_payment'
        WHEN 'sepay' THEN 'qr_transfer' WHEN 'casso' THEN 'qr_transfer' WHEN 'direct' THEN 'qr_transfer'
        WHEN 'vnpay' THEN 'vnpay' WHEN 'manual' THEN 'manual' WHEN 'statement' THEN 'statement' END
    $$;

    -- The first month from p_month on that the school has not closed.
    CREATE FUNCTION report_open_month(p_school text, p_month date) RETURNS date LANGUAGE plpgsql STABLE AS $$
    DECLARE m date := p_month;
    BEGIN
      WHILE EXISTS (SELECT 1 FROM closed_months WHERE school_id = p_school AND month = m) LOOP
        m := (m + interval '1 month')::date;
      END LOOP;
      RETURN m;
    END $$;

    -- Shared period locks of the schools, in one global order (closing takes one exclusively).
    CREATE FUNCTION report_lock_periods(p_schools text[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(k) FROM (SELECT DISTINCT hashtext('report-period:' || s) AS k FROM unnest(p_schools) s ORDER BY 1) x;
    END $$;

    CREATE FUNCTION report_refuse_closed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM changed_rows r JOIN closed_months c ON c.school_id = r.school_id AND c.month = r.month) THEN
        RAISE EXCEPTION 'the month is closed' USING ERRCODE = 'RP001';
      END IF;
      RETURN NULL;
    END $$;

    -- Billing: an invoice issued (draft -> open/paid, or inserted issued) adds its lines in the month
    -- of issued_at; voiding an issued invoice takes them off in the month of voided_at.
    CREATE FUNCTION report_apply_invoice_events(p_school text[], p_invoice text[], p_sign int[], p_kind text[], p_at timestamptz[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM report_lock_periods(p_school);
      EXECUTE $q$
      WITH x AS (
        SELECT s AS school_id, i AS invoice_id, g AS sign, k AS kind, a AS at, report_month_of(a) AS concerns_month
        FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[]) AS u(s, i, g, k, a)
      ), m AS (
        SELECT DISTINCT school_id, concerns_month, report_open_month(school_id, concerns_month) AS month FROM x
      ), e AS MATERIALIZED (
        SELECT x.*, m.month FROM x JOIN m USING (school_id, concerns_month)
      ), moved AS (
        INSERT INTO report_period_moves (school_id, source_kind, source_id, concerns_month, month, recorded_at)
        SELECT school_id, kind, invoice_id, concerns_month, month, at FROM e WHERE month <> concerns_month
      ), items AS (
        INSERT INTO report_fee_item_months (school_id, month, fee_item_id, billed_vnd, exempted_vnd, discounted_vnd)
        SELECT school_id, month, fee_item_id, sum(billed), sum(exempted), sum(discounted) FROM (
          SELECT e.school_id, e.month, l.fee_item_id,
                 e.sign * CASE WHEN l.kind = 'fee' THEN coalesce(l.gross_vnd, 0) ELSE 0 END AS billed,
                 e.sign * CASE WHEN l.kind = 'fee' THEN coalesce(l.exemption_vnd, 0) ELSE 0 END AS exempted,
                 e.sign * CASE WHEN l.kind = 'discount' THEN -l.total_vnd ELSE 0 END AS discounted
          FROM e JOIN invoice_lines l ON l.school_id = e.school_id AND l.invoice_id = e.invoice_id
        ) t GROUP BY school_id, month, fee_item_id
      )
      INSERT INTO report_school_months (school_id, month, receivable_change_vnd)
        SELECT e.school_id, e.month, sum(e.sign * i.total_vnd)
        FROM e JOIN invoices i ON i.school_id = e.school_id AND i.id = e.invoice_id
        GROUP BY e.school_id, e.month
      $q$ USING p_school, p_invoice, p_sign, p_kind, p_at;
    END $$;

    CREATE FUNCTION report_invoices_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ev record;
    BEGIN
      SELECT array_agg(school_id) AS s, array_agg(id) AS i, array_agg(1) AS g, array_agg('invoice_issued'::text) AS k, array_agg(issued_at) AS a INTO ev
        FROM new_rows WHERE status IN ('open', 'partially_paid', 'paid');
      IF ev.s IS NOT NULL THEN PERFORM report_apply_invoice_events(ev.s, ev.i, ev.g, ev.k, ev.a); END IF;
      RETURN NULL;
    END $$;

    CREATE FUNCTION report_invoices_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE ev record;
    BEGIN
      -- The callback path updates paid amounts and statuses of issued invoices: that finds nothing here.
      SELECT array_agg(school_id) AS s, array_agg(id) AS i, array_agg(sign) AS g, array_agg(kind) AS k, array_agg(at) AS a INTO ev FROM (
        SELECT n.school_id, n.id, 1 AS sign, 'invoice_issued'::text AS kind, n.issued_at AS at
          FROM new_rows n JOIN old_rows o ON o.school_id = n.school_id AND o.id = n.id
         WHERE o.status = 'draft' AND n.status IN ('open', 'partially_paid', 'paid')
        UNION ALL
        SELECT n.school_id, n.id, -1, 'invoice_voided', n.voided_at
          FROM new_rows n JOIN old_rows o ON o.school_id = n.school_id AND o.id = n.id
         WHERE n.status = 'void' AND o.status IN ('open', 'partially_paid', 'paid')
      ) t;
      IF ev.s IS NOT NULL THEN PERFORM report_apply_invoice_events(ev.s, ev.i, ev.g, ev.k, ev.a); END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER report_invoices_inserted AFTER INSERT ON invoices REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_invoices_inserted();
    CREATE TRIGGER report_invoices_updated AFTER UPDATE ON invoices REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_invoices_updated();

    -- An issued invoice of a closed month cannot be voided (a credit note, dated now, can lower it).
    CREATE FUNCTION report_refuse_void_in_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM closed_months WHERE school_id = OLD.school_id AND month = report_month_of(OLD.issued_at)) THEN
        RAISE EXCEPTION 'the invoice was issued in a closed month' USING ERRCODE = 'RP001';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER report_refuse_void_in_closed_month BEFORE UPDATE OF status ON invoices FOR EACH ROW
      WHEN (NEW.status = 'void' AND OLD.status <> 'void' AND OLD.issued_at IS NOT NULL)
      EXECUTE FUNCTION report_refuse_void_in_closed_month();

    -- Collections: each allocation is split over its invoice's fee items in proportion to each
    -- item's net on the invoice (cumulative truncation, so the shares sum to the allocation exactly).
    -- A payment's allocations are accounted in the month the payment occurred; allocations from
    -- credit in the month they were made.
    CREATE FUNCTION report_allocations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM report_lock_periods(ARRAY(SELECT DISTINCT school_id FROM new_rows));
      EXECUTE $q$
      WITH x AS (
        SELECT n.school_id, n.id, n.invoice_id, n.amount_vnd, n.created_at,
               CASE WHEN n.source = 'credit' THEN 'credit' ELSE report_channel(p.provider) END AS channel,
               report_month_of(CASE WHEN n.source = 'payment' THEN coalesce(p.occurred_at, p.recorded_at) ELSE n.created_at END) AS concerns_month
        FROM new_rows n LEFT JOIN payments p ON p.school_id = n.school_id AND p.id = n.payment_id
      ), m AS (
        SELECT DISTINCT school_id, concerns_month, report_open_month(school_id, concerns_month) AS month FROM x
      ), e AS MATERIALIZED (
        SELECT x.*, m.month FROM x JOIN m USING (school_id, concerns_month)
      ), moved AS (
        INSERT INTO report_period_moves (school_id, source_kind, source_id, concerns_month, month, recorded_at)
        SELECT school_id, 'allocation', id, concerns_month, month, created_at FROM e WHERE month <> concerns_month
      ), w AS (
        SELECT school_id, invoice_id, fee_item_id, weight,
               sum(weight) OVER (PARTITION BY school_id, invoice_id ORDER BY fee_item_id) AS cum,
               sum(weight) OVER (PARTITION BY school_id, invoice_id) AS total,
               row_number() OVER (PARTITION BY school_id, invoice_id ORDER BY fee_item_id) AS rn
        FROM (SELECT l.school_id, l.invoice_id, l.fee_item_id, sum(l.total_vnd) AS weight
              FROM invoice_lines l WHERE (l.school_id, l.invoice_id) IN (SELECT school_id, invoice_id FROM e)
              GROUP BY 1, 2, 3) g
      ), coll AS (
        INSERT INTO report_collection_months (school_id, month, fee_item_id, channel, amount_vnd)
        SELECT school_id, month, fee_item_id, channel, sum(share) FROM (
          SELECT e.school_id, e.month, e.channel, w.fee_item_id,
                 CASE WHEN w.total = 0 THEN CASE WHEN w.rn = 1 THEN e.amount_vnd ELSE 0 END
                      ELSE trunc(e.amount_vnd::numeric * w.cum / w.total) - trunc(e.amount_vnd::numeric * (w.cum - w.weight) / w.total) END AS share
          FROM e JOIN w ON w.school_id = e.school_id AND w.invoice_id = e.invoice_id
        ) s
        GROUP BY school_id, month, fee_item_id, channel
      )
      INSERT INTO report_school_months (school_id, month, receivable_change_vnd)
        SELECT school_id, month, -sum(amount_vnd) FROM e GROUP BY school_id, month
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER report_allocations_inserted AFTER INSERT ON allocations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_allocations_inserted();

    -- Credit notes: each note's share per fee item, in the month the note was made.
    CREATE FUNCTION report_credit_note_lines_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM report_lock_periods(ARRAY(SELECT DISTINCT school_id FROM new_rows));
      EXECUTE $q$
      WITH x AS (
        SELECT n.school_id, n.credit_note_id, n.fee_item_id, n.amount_vnd, c.created_at, report_month_of(c.created_at) AS concerns_month
        FROM new_rows n JOIN credit_notes c ON c.school_id = n.school_id AND c.id = n.credit_note_id
      ), m AS (
        SELECT DISTINCT school_id, concerns_month, report_open_month(school_id, concerns_month) AS month FROM x
      ), e AS MATERIALIZED (
        SELECT x.*, m.month FROM x JOIN m USING (school_id, concerns_month)
      ), moved AS (
        INSERT INTO report_period_moves (school_id, source_kind, source_id, concerns_month, month, recorded_at)
        SELECT DISTINCT school_id, 'credit_note', credit_note_id, concerns_month, month, created_at FROM e WHERE month <> concerns_month
      ), items AS (
        INSERT INTO report_fee_item_months (school_id, month, fee_item_id, credit_notes_vnd)
        SELECT school_id, month, fee_item_id, sum(amount_vnd) FROM e GROUP BY 1, 2, 3
      )
      INSERT INTO report_school_months (school_id, month, receivable_change_vnd)
        SELECT school_id, month, -sum(amount_vnd) FROM e GROUP BY 1, 2
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER report_credit_note_lines_inserted AFTER INSERT ON credit_note_lines REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_credit_note_lines_inserted();

    -- Credit balances and refunds from the ledger's credit accounts (a liability: credit-normal).
    CREATE FUNCTION report_ledger_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_rows WHERE account_kind = 'credit') THEN RETURN NULL; END IF;
      PERFORM report_lock_periods(ARRAY(SELECT DISTINCT school_id FROM new_rows WHERE account_kind = 'credit'));
      EXECUTE $q$
      WITH x AS (
        SELECT j.school_id, j.id, j.posted_at, report_month_of(j.posted_at) AS concerns_month,
               -sum(n.amount_vnd) AS credit_change_vnd, coalesce(sum(n.amount_vnd) FILTER (WHERE j.kind = 'credit_refunded'), 0) AS refunded_vnd
        FROM new_rows n JOIN journals j ON j.school_id = n.school_id AND j.id = n.journal_id
        WHERE n.account_kind = 'credit'
        GROUP BY j.school_id, j.id
      ), m AS (
        SELECT DISTINCT school_id, concerns_month, report_open_month(school_id, concerns_month) AS month FROM x
      ), e AS MATERIALIZED (
        SELECT x.*, m.month FROM x JOIN m USING (school_id, concerns_month)
      ), moved AS (
        INSERT INTO report_period_moves (school_id, source_kind, source_id, concerns_month, month, recorded_at)
        SELECT school_id, 'journal', id, concerns_month, month, posted_at FROM e WHERE month <> concerns_month
      )
      INSERT INTO report_school_months (school_id, month, credit_change_vnd, refunded_vnd)
        SELECT school_id, month, sum(credit_change_vnd), sum(refunded_vnd) FROM e GROUP BY 1, 2
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER report_ledger_entries_inserted AFTER INSERT ON ledger_entries REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_ledger_entries_inserted();

    -- Receipts per series: issued in the month of issue; a cancellation counts, and takes its
    -- amount off, in the month it was made.
    CREATE FUNCTION report_receipts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM report_lock_periods(ARRAY(SELECT DISTINCT school_id FROM new_rows));
      EXECUTE $q$
      WITH x AS (
        SELECT school_id, id, template_code, symbol, number, total_vnd, issued_at, report_month_of(issued_at) AS concerns_month FROM new_rows
      ), m AS (
        SELECT DISTINCT school_id, concerns_month, report_open_month(school_id, concerns_month) AS month FROM x
      ), e AS MATERIALIZED (
        SELECT x.*, m.month FROM x JOIN m USING (school_id, concerns_month)
      ), moved AS (
        INSERT INTO report_period_moves (school_id, source_kind, source_id, concerns_month, month, recorded_at)
        SELECT school_id, 'receipt', id, concerns_month, month, issued_at FROM e WHERE month <> concerns_month
      )
      INSERT INTO report_receipt_months (school_id, month, template_code, symbol, first_number, last_number, issued_count, amount_vnd)
        SELECT school_id, month, template_code, symbol, min(number), max(number), count(*), sum(total_vnd) FROM e GROUP BY 1, 2, 3, 4
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER report_receipts_inserted AFTER INSERT ON receipts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_receipts_inserted();

    CREATE FUNCTION report_receipt_cancellations_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM report_lock_periods(ARRAY(SELECT DISTINCT school_id FROM new_rows));
      EXECUTE $q$
      WITH x AS (
        SELECT n.school_id, n.receipt_id AS id, r.template_code, r.symbol, r.total_vnd, n.cancelled_at, report_month_of(n.cancelled_at) AS concerns_month
        FROM new_rows n JOIN receipts r ON r.school_id = n.school_id AND r.id = n.receipt_id
      ), m AS (
        SELECT DISTINCT school_id, concerns_month, report_open_month(school_id, concerns_month) AS month FROM x
      ), e AS MATERIALIZED (
        SELECT x.*, m.month FROM x JOIN m USING (school_id, concerns_month)
      ), moved AS (
        INSERT INTO report_period_moves (school_id, source_kind, source_id, concerns_month, month, recorded_at)
        SELECT school_id, 'receipt_cancellation', id, concerns_month, month, cancelled_at FROM e WHERE month <> concerns_month
      )
      INSERT INTO report_receipt_months (school_id, month, template_code, symbol, cancelled_count, amount_vnd)
        SELECT school_id, month, template_code, symbol, count(*), -sum(total_vnd) FROM e GROUP BY 1, 2, 3, 4
      $q$;
      RETURN NULL;
    END $$;
    CREATE TRIGGER report_receipt_cancellations_inserted AFTER INSERT ON receipt_cancellations REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_receipt_cancellations_inserted();
  `);

  // The backstop: no statement may touch a roll-up row of a closed month, whatever wrote it.
  for (const table of ['report_fee_item_months', 'report_collection_months', 'report_school_months', 'report_receipt_months']) {
    await knex.raw(`
      CREATE TRIGGER ${table}_closed_insert AFTER INSERT ON ${table} REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION report_refuse_closed_rows();
      CREATE TRIGGER ${table}_closed_update AFTER UPDATE ON ${table} REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION report_refuse_closed_rows();
      CREATE TRIGGER ${table}_closed_delete AFTER DELETE ON ${table} REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION report_refuse_closed_rows();
    `);
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER report_invoices_inserted ON invoices;
    DROP TRIGGER report_invoices_updated ON invoices;
    DROP TRIGGER report_refuse_void_in_closed_month ON invoices;
    DROP TRIGGER report_allocations_inserted ON allocations;
    DROP TRIGGER report_credit_note_lines_inserted ON credit_note_lines;
    DROP TRIGGER report_ledger_entries_inserted ON ledger_entries;
    DROP TRIGGER report_receipts_inserted ON receipts;
    DROP TRIGGER report_receipt_cancellations_inserted ON receipt_cancellations;
    DROP TABLE report_period_moves, report_receipt_months, report_school_months, report_collection_months, report_fee_item_months, closed_months;
    DROP FUNCTION report_receipt_cancellations_inserted(), report_receipts_inserted(), report_ledger_entries_inserted(), report_credit_note_lines_inserted(),
      report_allocations_inserted(), report_refuse_void_in_closed_month(), report_invoices_updated(), report_invoices_inserted(), report_apply_invoice_events(text[], text[], int[], text[], timestamptz[]),
      report_refuse_closed_rows(), report_lock_periods(text[]), report_open_month(text, date), report_channel(text), report_month_of(timestamptz);
  `);
}
