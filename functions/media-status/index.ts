/** GET /uploads/{uploadId}: the owner's view of one upload (and a Psign when configured); see lib/upload-status. */
import { createAuthenticator } from '#lib/auth';
import { httpHandler } from '#lib/http';
import { createRuntime } from '#lib/runtime';
import { anonymousAllowed, statusQuery, uploadIdParam, uploadStatus } from '#lib/upload-status';

const runtime = createRuntime('media-status', { userAuth: true });
const { config, log } = runtime;
const authenticate = createAuthenticator(config, log);

export const main_handler = httpHandler(
  {
    methods: ['GET'],
    route: '/uploads/{uploadId}',
    corsAllowedOrigins: config.http.corsAllowedOrigins,
    maxBodyBytes: config.http.maxBodyBytes,
    log,
  },
  async (request) => {
    // A token that is present is always checked: a bad one is a 401, never a silent downgrade.
    const anonymous = anonymousAllowed(config) && request.headers.authorization === undefined;
    const caller = anonymous ? undefined : await authenticate(request.headers);
    const uploadId = uploadIdParam(request.pathParams.uploadId);
    const query = statusQuery(request.query, config);
    const db = await runtime.database();
    return { status: 200, body: await uploadStatus({ config, db }, caller, uploadId, query) };
  },
);
