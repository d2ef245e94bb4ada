/**
 * POST /vod-events[/<token>]: VOD's PUSH callback. Authenticates the callback (URL token; Sign/T when
 * a SignKey is configured; its shape logged with CALLBACK_DIAGNOSTICS), parses the event and applies it
 * exactly once. 200 only once the effects are
 * durably recorded; 5xx when they could not be (nothing is recorded: a pulled event comes again, a pushed
 * one is repaired by the cleanup's reconcile).
 */
import { receiveCallback } from '#lib/callback-receiver';
import { handleVodEvent } from '#lib/handle-vod-event';
import { httpHandler } from '#lib/http';
import { createRuntime } from '#lib/runtime';
import { createVodClient } from '#lib/vod-api';
import { parseVodEvent } from '#lib/vod-event';

const runtime = createRuntime('vod-events', { callbackTokens: true });
const { config, log } = runtime;
const vod = createVodClient(config, { timeoutSeconds: 5 });
/** Leave room to answer before VOD's 5 s callback timeout. */
const TIME_BUDGET_MS = 4000;

export const main_handler = httpHandler(
  { methods: ['POST'], route: '/vod-events/{token?}', corsAllowedOrigins: [], maxBodyBytes: config.http.maxBodyBytes, log },
  async (request) => {
    const deadline = Date.now() + TIME_BUDGET_MS;
    return receiveCallback(request, config.callback, async (body) => {
      const event = parseVodEvent(body);
      const db = await runtime.database();
      await handleVodEvent({ config, db, vod, log: request.log, deadline }, event, {
        confirmWithVod: config.callback.verifyWithVod,
        via: 'push',
        requestId: request.requestId,
      });
      return { status: 200, body: {} };
    });
  },
);
