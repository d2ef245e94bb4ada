/**
 * The local stack's own webhook receiver (local only): `POST /local/webhooks` takes what the functions
 * send, verifies it with the standardwebhooks package as an app's server would, and keeps the last
 * `KEPT` in memory; `GET /local/webhooks` lists them, newest first, for the demo page (web/webhook-log.ts).
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { readBody, sendJson } from './http-body.ts';

const KEPT = 100;

export interface ReceivedWebhook {
  webhookId: string;
  type?: string;
  uploadId?: string;
  sequence?: number;
  status?: string;
  receivedAt: string;
  verified: boolean;
}

export interface WebhookReceiver {
  /** The signing secret the stack gives the functions (APP_WEBHOOK_SECRETS). */
  secret: string;
  received: ReceivedWebhook[];
  /** Serves `/local/webhooks`; false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

/** A receiver whose secret derives from the stack's own (so local-secrets.json keeps its shape). */
export function createWebhookReceiver(stackSecret: string): WebhookReceiver {
  const secret = `whsec_${createHmac('sha256', stackSecret).update('webhooks').digest('base64')}`;
  const verifier = new Webhook(secret);
  const received: ReceivedWebhook[] = [];
  return {
    secret,
    received,
    async handle(req, res, url) {
      if (url.pathname !== '/local/webhooks') return false;
      if (req.method === 'GET') {
        sendJson(res, 200, { webhooks: received }, { 'cache-control': 'no-store' });
        return true;
      }
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: { code: 'MethodNotAllowed', message: 'Use GET or POST' } });
        return true;
      }
      const body = (await readBody(req, 256 * 1024))?.toString('utf8') ?? '';
      let payload: { type?: string; data?: { uploadId?: string; sequence?: number; status?: string } } | undefined;
      try {
        payload = verifier.verify(body, req.headers as Record<string, string>) as typeof payload;
      } catch {
        payload = undefined;
      }
      received.unshift({
        webhookId: String(req.headers['webhook-id'] ?? ''),
        type: payload?.type,
        uploadId: payload?.data?.uploadId,
        sequence: payload?.data?.sequence,
        status: payload?.data?.status,
        receivedAt: new Date().toISOString(),
        verified: payload !== undefined,
      });
      received.length = Math.min(received.length, KEPT);
      // A request that does not verify is refused, as an app's server would.
      sendJson(res, payload ? 200 : 401, payload ? {} : { error: { code: 'BadSignature', message: 'Signature check failed' } });
      return true;
    },
  };
}
