/** Signed outbound webhooks from the transactional outbox of migration 8 (README "Webhooks"). */
export { deliverDueWebhooks, retryDelayMs, sendPendingWebhooks, type DeliveryCounts, type WebhookDeps } from './deliver.ts';
export { WEBHOOK_EVENT_TYPES, webhookBody, webhookHeaders, type WebhookEventType } from './message.ts';
export { uploadTimeline, getUploadWithTimeline, uploadWebhooks, type OutboxRow, type TimelineEntry } from './outbox-store.ts';
