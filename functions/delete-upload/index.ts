/** DELETE /uploads/{uploadId}: the owner (or a service token) deletes an upload and its media; see lib/upload-library. */
import { createAuthenticator } from '#lib/auth';
import { deleteMediaInVod } from '#lib/cleanup/deletions';
import { httpHandler } from '#lib/http';
import { createRuntime } from '#lib/runtime';
import { deleteLibraryUpload } from '#lib/upload-library';
import { createVodClient, vodApi } from '#lib/vod-api';

const runtime = createRuntime('delete-upload', { userAuth: true });
const { config, log } = runtime;
const authenticate = createAuthenticator(config, log);
// Short: when VOD does not answer, the upload is DELETED with its media deletion pending (202).
const vod = createVodClient(config, { timeoutSeconds: 3 });
const VOD_BUDGET_MS = 5_000;
// Then the webhook, within the 10 s function timeout; what is not sent now the webhooks timer sends.
const WEBHOOK_BUDGET_MS = 3_000;

export const main_handler = httpHandler(
  {
    methods: ['DELETE'],
    route: '/uploads/{uploadId}',
    corsAllowedOrigins: config.http.corsAllowedOrigins,
    maxBodyBytes: config.http.maxBodyBytes,
    log,
  },
  async (request) => {
    const caller = await authenticate(request.headers);
    const db = await runtime.database();
    const deleteMedia = (fileId: string) =>
      deleteMediaInVod(vodApi(vod, { subAppId: config.vod.subAppId, deadline: Date.now() + VOD_BUDGET_MS }), fileId);
    const deps = { config, db, log: request.log, deleteMedia, webhookDeadline: Date.now() + VOD_BUDGET_MS + WEBHOOK_BUDGET_MS };
    const { status, body } = await deleteLibraryUpload(deps, caller, request.pathParams.uploadId);
    return { status, body };
  },
);
