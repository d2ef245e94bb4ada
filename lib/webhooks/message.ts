/**
 * One webhook as sent: the body (the owner's view of the upload as the status change left it, plus the
 * user, the event type, its time and the upload's sequence number) and the Standard Webhooks headers,
 * signed with every configured secret (the newest first) so a receiver mid-rotation accepts either.
 */
import { Webhook } from 'standardwebhooks';
import type { Config } from '#lib/config';
import { toUpload } from '#lib/upload-store';
import { playbackUrlSigner, uploadView } from '#lib/upload-view';
import type { OutboxRow } from './outbox-store.ts';

/** The event types, one per status an upload can reach after ISSUED. */
export const WEBHOOK_EVENT_TYPES = [
  'upload.uploaded',
  'upload.processing',
  'upload.in_review',
  'upload.ready',
  'upload.failed',
  'upload.rejected',
  'upload.expired',
  'upload.blocked',
  'upload.deleted',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The body: Standard Webhooks' `type`, `timestamp`, `data`. */
export function webhookBody(row: OutboxRow, hotlink: Config['hotlink'], nowMs = Date.now()): string {
  const upload = toUpload(row.snapshot);
  // URLs are signed now, at delivery, so a retried webhook never carries an expired URL.
  const view = uploadView(upload, playbackUrlSigner(hotlink, upload.media?.duration, nowMs));
  return JSON.stringify({
    type: row.eventType,
    timestamp: row.occurredAt.toISOString(),
    data: { ...view, userId: row.userId, sequence: row.seq },
  });
}

/** `webhook-id`, `webhook-timestamp`, `webhook-signature` (space-separated `v1,…`, one per secret). */
export function webhookHeaders(secrets: readonly string[], webhookId: string, body: string, at: Date): Record<string, string> {
  const signatures = secrets.map((secret) => new Webhook(secret).sign(webhookId, at, body));
  return {
    'webhook-id': webhookId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
