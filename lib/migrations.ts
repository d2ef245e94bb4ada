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
    version: 7,
    name: 'per-user quota counters',
    sql: `
      -- What one upload charges to its user's quotas, from the row alone (lib/quota-store.ts recounts with
      -- the same functions). Bytes: the real size once the file arrived (an accepted file's true-up), else
      -- the fileSize announced at signature time (the reservation). Seconds: the real duration, else 0.
      CREATE FUNCTION upload_charged_bytes(status text, file_size bigint, media jsonb) RETURNS bigint
        LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN status <> 'REJECTED' AND jsonb_typeof(media->'size') = 'number'
                      THEN GREATEST(0, round((media->>'size')::numeric))::bigint
                      ELSE GREATEST(0, COALESCE(file_size, 0)) END $$;
      CREATE FUNCTION upload_charged_seconds(media jsonb) RETURNS numeric
        LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN jsonb_typeof(media->'duration') = 'number'
                      THEN GREATEST(0, (media->>'duration')::numeric) ELSE 0 END $$;
      -- Stored quotas hold until the media goes: REJECTED, EXPIRED and DELETED release them (a FAILED
      -- upload's media stays until the cleanup deletes it after FAILED_RETENTION_DAYS, as DELETED).
      CREATE FUNCTION upload_is_stored(status text) RETURNS boolean
        LANGUAGE sql IMMUTABLE AS $$ SELECT status IN ('ISSUED', 'UPLOADED', 'PROCESSING', 'READY', 'FAILED') $$;
      -- Daily quotas count what was started that (UTC) day; only an upload that expired without a file gives it back.
      CREATE FUNCTION upload_counts_daily(status text, file_id text) RETURNS boolean
        LANGUAGE sql IMMUTABLE AS $$ SELECT NOT (status = 'EXPIRED' AND file_id IS NULL) $$;
      CREATE FUNCTION upload_quota_day(created_at timestamptz) RETURNS date
        LANGUAGE sql IMMUTABLE AS $$ SELECT (created_at AT TIME ZONE 'UTC')::date $$;

      CREATE TABLE user_quotas (
        user_id            text PRIMARY KEY,
        concurrent_uploads integer NOT NULL DEFAULT 0,
        stored_bytes       bigint NOT NULL DEFAULT 0,
        stored_seconds     numeric NOT NULL DEFAULT 0
      );
      CREATE TABLE user_daily_quotas (
        user_id text NOT NULL,
        day     date NOT NULL,
        uploads integer NOT NULL DEFAULT 0,
        bytes   bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, day)
      );

      -- Every change to an upload's charge, whoever makes it (signature, events, cleanup, deletion), moves
      -- the counters by the difference, in the same transaction: counters always equal a recount.
      CREATE FUNCTION uploads_charge_quotas() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        d_concurrent integer := 0; d_bytes bigint := 0; d_seconds numeric := 0;
        old_day date; old_uploads integer := 0; old_bytes bigint := 0;
        new_day date; new_uploads integer := 0; new_bytes bigint := 0;
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          IF OLD.status = 'ISSUED' THEN d_concurrent := -1; END IF;
          IF upload_is_stored(OLD.status) THEN
            d_bytes := -upload_charged_bytes(OLD.status, OLD.file_size, OLD.media);
            d_seconds := -upload_charged_seconds(OLD.media);
          END IF;
          old_day := upload_quota_day(OLD.created_at);
          IF upload_counts_daily(OLD.status, OLD.file_id) THEN
            old_uploads := 1; old_bytes := upload_charged_bytes(OLD.status, OLD.file_size, OLD.media);
          END IF;
        END IF;
        IF TG_OP <> 'DELETE' THEN
          IF NEW.status = 'ISSUED' THEN d_concurrent := d_concurrent + 1; END IF;
          IF upload_is_stored(NEW.status) THEN
            d_bytes := d_bytes + upload_charged_bytes(NEW.status, NEW.file_size, NEW.media);
            d_seconds := d_seconds + upload_charged_seconds(NEW.media);
          END IF;
          new_day := upload_quota_day(NEW.created_at);
          IF upload_counts_daily(NEW.status, NEW.file_id) THEN
            new_uploads := 1; new_bytes := upload_charged_bytes(NEW.status, NEW.file_size, NEW.media);
          END IF;
        END IF;
        IF d_concurrent <> 0 OR d_bytes <> 0 OR d_seconds <> 0 THEN
          INSERT INTO user_quotas AS q (user_id, concurrent_uploads, stored_bytes, stored_seconds)
          VALUES (COALESCE(NEW.user_id, OLD.user_id), d_concurrent, d_bytes, d_seconds)
          ON CONFLICT (user_id) DO UPDATE SET concurrent_uploads = q.concurrent_uploads + EXCLUDED.concurrent_uploads,
            stored_bytes = q.stored_bytes + EXCLUDED.stored_bytes, stored_seconds = q.stored_seconds + EXCLUDED.stored_seconds;
        END IF;
        IF old_day IS NOT DISTINCT FROM new_day THEN
          new_uploads := new_uploads - old_uploads; new_bytes := new_bytes - old_bytes; old_day := NULL;
        END IF;
        IF old_day IS NOT NULL AND (old_uploads <> 0 OR old_bytes <> 0) THEN
          INSERT INTO user_daily_quotas AS d (user_id, day, uploads, bytes) VALUES (OLD.user_id, old_day, -old_uploads, -old_bytes)
          ON CONFLICT (user_id, day) DO UPDATE SET uploads = d.uploads + EXCLUDED.uploads, bytes = d.bytes + EXCLUDED.bytes;
        END IF;
        IF new_day IS NOT NULL AND (new_uploads <> 0 OR new_bytes <> 0) THEN
          INSERT INTO user_daily_quotas AS d (user_id, day, uploads, bytes) VALUES (NEW.user_id, new_day, new_uploads, new_bytes)
          ON CONFLICT (user_id, day) DO UPDATE SET uploads = d.uploads + EXCLUDED.uploads, bytes = d.bytes + EXCLUDED.bytes;
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER uploads_charge_quotas AFTER INSERT OR DELETE OR UPDATE OF status, file_size, file_id, media, created_at
        ON uploads FOR EACH ROW EXECUTE FUNCTION uploads_charge_quotas();
      -- Emptying the uploads table empties what is counted from it.
      CREATE FUNCTION uploads_truncate_quotas() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM user_quotas;
        DELETE FROM user_daily_quotas;
        RETURN NULL;
      END $$;
      CREATE TRIGGER uploads_truncate_quotas AFTER TRUNCATE ON uploads FOR EACH STATEMENT EXECUTE FUNCTION uploads_truncate_quotas();

      -- The uploads already there.
      INSERT INTO user_quotas (user_id, concurrent_uploads, stored_bytes, stored_seconds)
      SELECT user_id, count(*) FILTER (WHERE status = 'ISSUED'),
             COALESCE(sum(upload_charged_bytes(status, file_size, media)) FILTER (WHERE upload_is_stored(status)), 0),
             COALESCE(sum(upload_charged_seconds(media)) FILTER (WHERE upload_is_stored(status)), 0)
      FROM uploads GROUP BY user_id;
      INSERT INTO user_daily_quotas (user_id, day, uploads, bytes)
      SELECT user_id, upload_quota_day(created_at), count(*), sum(upload_charged_bytes(status, file_size, media))
      FROM uploads WHERE upload_counts_daily(status, file_id) GROUP BY user_id, upload_quota_day(created_at);
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
  {
    version: 9,
    name: 'upload library and deletions',
    sql: `
      -- GET /uploads: a user's uploads newest first, and every upload for a service token (keyset pages).
      CREATE INDEX uploads_user_listing_idx ON uploads (user_id, created_at DESC, upload_id DESC);
      CREATE INDEX uploads_listing_idx ON uploads (created_at DESC, upload_id DESC);
      -- DELETE /uploads/{uploadId} could not reach VOD: the upload is DELETED, its media still to delete
      -- (the cleanup's deletions step finishes it).
      ALTER TABLE uploads ADD COLUMN media_deletion_pending boolean NOT NULL DEFAULT false;
      CREATE INDEX uploads_media_deletion_idx ON uploads (status_changed_at, upload_id) WHERE media_deletion_pending;
    `,
  },
  {
    version: 10,
    name: 'content review',
    sql: `
      ALTER TABLE uploads DROP CONSTRAINT uploads_status_check;
      ALTER TABLE uploads ADD CONSTRAINT uploads_status_check CHECK (status IN
        ('ISSUED','UPLOADED','PROCESSING','IN_REVIEW','READY','FAILED','REJECTED','EXPIRED','BLOCKED','DELETED'));
      -- The content review (REVIEW_MODE): where it stands, VOD's task and verdict, who decided (UploadReview).
      ALTER TABLE uploads ADD COLUMN review jsonb;
      -- Processing finished with something to play; in gate mode the upload may still wait for its review.
      ALTER TABLE uploads ADD COLUMN processed_at timestamptz;
      -- BLOCKED and ForbidMediaDistribution done: VOD answers 403 for every URL of the media.
      ALTER TABLE uploads ADD COLUMN distribution_forbidden boolean NOT NULL DEFAULT false;
      -- When the reconciler next looks at the review (to start it, or to ask VOD how it ended).
      ALTER TABLE uploads ADD COLUMN review_check_after timestamptz;
      CREATE INDEX uploads_review_check_idx ON uploads (review_check_after, upload_id) WHERE review_check_after IS NOT NULL;
      CREATE INDEX uploads_blocked_idx ON uploads (status_changed_at, upload_id)
        WHERE status = 'BLOCKED' AND NOT distribution_forbidden;
      -- Held and blocked videos are still stored: they count against the stored quotas until deleted.
      CREATE OR REPLACE FUNCTION upload_is_stored(status text) RETURNS boolean
        LANGUAGE sql IMMUTABLE AS $$ SELECT status IN ('ISSUED', 'UPLOADED', 'PROCESSING', 'IN_REVIEW', 'READY', 'FAILED', 'BLOCKED') $$;
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
