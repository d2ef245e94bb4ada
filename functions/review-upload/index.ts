/** POST /uploads/{uploadId}/review: a service token allows or blocks an upload; see lib/review-decision. */
import { createAuthenticator } from '#lib/auth';
import { httpHandler, jsonBody } from '#lib/http';
import { decideReview } from '#lib/review-decision';
import { createRuntime } from '#lib/runtime';
import { createVodClient } from '#lib/vod-api';

const runtime = createRuntime('review-upload', { userAuth: true });
const { config, log } = runtime;
const authenticate = createAuthenticator(config, log);
// Short: what ForbidMediaDistribution cannot do now the cleanup repeats (BLOCKED, not yet forbidden).
const vod = createVodClient(config, { timeoutSeconds: 3 });
const VOD_BUDGET_MS = 5_000;
// Then the webhooks, within the 10 s function timeout; what is not sent now the webhooks timer sends.
const WEBHOOK_BUDGET_MS = 3_000;

export const main_handler = httpHandler(
  {
    methods: ['POST'],
    route: '/uploads/{uploadId}/review',
    corsAllowedOrigins: config.http.corsAllowedOrigins,
    maxBodyBytes: config.http.maxBodyBytes,
    log,
  },
  async (request) => {
    const caller = await authenticate(request.headers);
    const db = await runtime.database();
    const now = Date.now();
    const deps = {
      config,
      db,
      log: request.log,
      vod,
      vodDeadline: now + VOD_BUDGET_MS,
      webhookDeadline: now + VOD_BUDGET_MS + WEBHOOK_BUDGET_MS,
    };
    return { status: 200, body: await decideReview(deps, caller, request.pathParams.uploadId, () => jsonBody(request)) };
  },
);
