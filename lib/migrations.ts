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
