/** GET /uploads/{uploadId}: the owner's view of one upload; anyone else gets 404. */
import { createAuthenticator } from '#lib/auth';
import { httpHandler } from '#lib/http';
import { createRuntime } from '#lib/runtime';
import { uploadIdParam, uploadStatus } from '#lib/upload-status';

const runtime = createRuntime('media-status', { userAuth: true });
const { config, log } = runtime;
const authenticate = createAuthenticator(config, log);

export const main_handler = httpHandler(
  { methods: ['GET'], route: '/uploads/{uploadId}', corsAllowedOrigins: config.http.corsAllowedOrigins, maxBodyBytes: config.http.maxBodyBytes, log },
  async (request) => {
    const { userId } = await authenticate(request.headers);
    const uploadId = uploadIdParam(request.pathParams.uploadId);
    const db = await runtime.database();
    return { status: 200, body: await uploadStatus({ config, db }, userId, uploadId) };
  },
);
