/**
 * Forward-only schema migrations. Each runs once, in order, inside one transaction that holds an
 * advisory lock, so two instances starting at once apply them exactly once. Never edit a shipped
 * migration: add a new one.
 */
import type { Database } from '#lib/db';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary constant: the advisory-lock id that serialises migrations across instances. */
const MIGRATION_LOCK_ID = 7_104_202_611;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'uploads and rate limits',
    sql: `
      CREATE TABLE uploads (
        upload_id            uuid PRIMARY KEY,
        user_id              text NOT NULL,
        status               text NOT NULL CHECK (status IN
                               ('ISSUED','UPLOADED','PROCESSING','READY','FAILED','REJECTED','EXPIRED','DELETED')),
        file_name            text,
        file_size            bigint,
        file_type            text,
        cover_type           text,
        file_id              text UNIQUE,
        task_id              text,
        procedure            text,
        media                jsonb,
        result               jsonb,
        error                jsonb,
        signature_expires_at timestamptz NOT NULL,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now(),
        status_changed_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX uploads_user_created_idx ON uploads (user_id, created_at DESC);
      CREATE INDEX uploads_status_changed_idx ON uploads (status, status_changed_at, upload_id);
      CREATE INDEX uploads_task_idx ON uploads (task_id) WHERE task_id IS NOT NULL;

      -- Fixed-window counters per subject (e.g. 'signature:<userId>'), shared by every instance.
      CREATE TABLE rate_limits (
        subject      text NOT NULL,
        window_start timestamptz NOT NULL,
        count        integer NOT NULL,
        PRIMARY KEY (subject, window_start)
      );
      CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
    `,
  },
  {
    version: 2,
    name: 'vod event de-dupe records',
    sql: `
      -- One row per VOD event whose effects were applied, written in the same transaction as those
      -- effects: a duplicate finds the row and does nothing; a concurrent twin waits on the key.
      CREATE TABLE vod_events (
        dedupe_key  text PRIMARY KEY,
        event_type  text NOT NULL,
        upload_id   uuid,
        file_id     text,
        task_id     text,
        outcome     text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX vod_events_received_idx ON vod_events (received_at);
    `,
  },
  {
    version: 3,
    name: 'cleanup leases',
    sql: `
      -- A cleanup run leases the rows it works on, so a concurrent run skips them (no process memory).
      ALTER TABLE uploads ADD COLUMN lease_until timestamptz;
      CREATE INDEX vod_events_orphans_idx ON vod_events (outcome, received_at) WHERE outcome IN ('extra-file', 'late-upload');
    `,
  },
  {
    version: 4,
    name: 'recovery cursor and processing checks',
    sql: `
      -- How far the lost-upload search has looked through VOD's media, by creation time: the latest
      -- CreateTime handled and the files handled at that very instant (VOD's CreateTime.After is inclusive).
      CREATE TABLE search_cursors (
        name       text PRIMARY KEY,
        high_water timestamptz NOT NULL,
        file_ids   text[] NOT NULL DEFAULT '{}',
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- When the reconciler asks VOD next about a PROCESSING upload (NULL: not asked yet, the first wait
      -- follows from the media's duration), and how many times it asked without an outcome.
      ALTER TABLE uploads ADD COLUMN check_after timestamptz;
      ALTER TABLE uploads ADD COLUMN checks integer NOT NULL DEFAULT 0;
      -- Which files' NewFileUpload was handled: the search skips them.
      CREATE INDEX vod_events_file_idx ON vod_events (file_id) WHERE file_id IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'issued uploads per user',
    sql: `
      -- The per-user cap counts a user's ISSUED uploads with every new signature.
      CREATE INDEX uploads_issued_user_idx ON uploads (user_id) WHERE status = 'ISSUED';
    `,
  },
  {
    version: 6,
    name: 'lost-upload search retries',
    sql: `
      -- Files the lost-upload search moved past although handling them failed: retried by later runs,
      -- a bounded number of times, so one poison file never holds the cursor.
      CREATE TABLE search_retries (
        name       text NOT NULL,
        file_id    text NOT NULL,
        attempts   integer NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (name, file_id)
      );
    `,
  },
  {
    version: 8,
    name: 'upload timeline and webhook outbox',
    sql: `
      -- Why the status is changing, set by the writer in the same UPDATE and consumed by the trigger below
      -- (always NULL once stored); status_seq numbers an upload's status changes.
      ALTER TABLE uploads ADD COLUMN status_cause jsonb;
      ALTER TABLE uploads ADD COLUMN status_seq integer NOT NULL DEFAULT 0;

      -- Every status change of every upload (seq 0: the status it had when this table was created).
      CREATE TABLE upload_timeline (
        upload_id   uuid NOT NULL,
        seq         integer NOT NULL,
        at          timestamptz NOT NULL DEFAULT now(),
        from_status text,
        to_status   text NOT NULL,
        cause       jsonb,
        PRIMARY KEY (upload_id, seq)
      );
      INSERT INTO upload_timeline (upload_id, seq, at, to_status, cause)
        SELECT upload_id, 0, status_changed_at, status, '{"source":"migration"}'::jsonb FROM uploads;

      -- The transactional outbox: one webhook per status change after ISSUED, with the row as it was.
      CREATE TABLE webhook_outbox (
        webhook_id      text PRIMARY KEY,
        upload_id       uuid NOT NULL,
        seq             integer NOT NULL,
        event_type      text NOT NULL,
        user_id         text NOT NULL,
        snapshot        jsonb NOT NULL,
        occurred_at     timestamptz NOT NULL DEFAULT now(),
        state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'undeliverable')),
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        lease_until     timestamptz,
        delivered_at    timestamptz,
        last_status     integer,
        last_error      text,
        UNIQUE (upload_id, seq)
      );
      CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE state = 'pending';
      CREATE INDEX webhook_outbox_occurred_idx ON webhook_outbox (occurred_at);

      -- One code path for every writer (updateUpload, the cleanup's batch updates, any future one): the
      -- timeline row and the outbox row are written by the statement that changes the status.
      CREATE FUNCTION record_upload_status() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
          NEW.status_cause := NULL;
          RETURN NEW;
        END IF;
        IF TG_OP = 'UPDATE' THEN
          NEW.status_seq := OLD.status_seq + 1;
          INSERT INTO upload_timeline (upload_id, seq, from_status, to_status, cause)
            VALUES (NEW.upload_id, NEW.status_seq, OLD.status, NEW.status, NEW.status_cause);
        ELSE
          NEW.status_seq := 1;
          INSERT INTO upload_timeline (upload_id, seq, to_status, cause)
            VALUES (NEW.upload_id, 1, NEW.status, NEW.status_cause);
        END IF;
        -- Uploads start ISSUED (no event); every later status is announced.
        IF TG_OP = 'UPDATE' THEN
          INSERT INTO webhook_outbox (webhook_id, upload_id, seq, event_type, user_id, snapshot)
            VALUES ('msg_' || replace(NEW.upload_id::text, '-', '') || '_' || NEW.status_seq, NEW.upload_id,
                    NEW.status_seq, 'upload.' || lower(NEW.status), NEW.user_id,
                    to_jsonb(NEW) - 'status_cause' - 'lease_until');
        END IF;
        NEW.status_cause := NULL;
        RETURN NEW;
      END
      $fn$;
      CREATE TRIGGER uploads_status_recorded BEFORE INSERT OR UPDATE ON uploads
        FOR EACH ROW EXECUTE FUNCTION record_upload_status();
    `,
  },
];

export async function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await tx.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => Number(row.version)));
    const newlyApplied: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      newlyApplied.push(migration.version);
    }
    return newlyApplied;
  });
}
