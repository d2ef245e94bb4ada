/** GET /uploads/{uploadId}: the owner's view of one upload; anyone else gets 404. */
import { createAuthenticator } from '#lib/auth';
import { BadRequestError, NotFoundError } from '#lib/errors';
import { httpHandler } from '#lib/http';
import { createRuntime } from '#lib/runtime';
import { isUploadId } from '#lib/upload-context';
import { getUpload } from '#lib/upload-store';
import { playbackUrlSigner, uploadView } from '#lib/upload-view';

const runtime = createRuntime('media-status', { userAuth: true });
const { config, log } = runtime;
const authenticate = createAuthenticator(config, log);

export const main_handler = httpHandler(
  { methods: ['GET'], route: '/uploads/{uploadId}', corsAllowedOrigins: config.http.corsAllowedOrigins, maxBodyBytes: config.http.maxBodyBytes, log },
  async (request) => {
    const { userId } = await authenticate(request.headers);
    const uploadId = request.pathParams.uploadId ?? '';
    if (!isUploadId(uploadId)) throw new BadRequestError('uploadId: must be an upload id returned by POST /upload-signature', 'uploadId');
    const upload = await getUpload(await runtime.database(), uploadId.toLowerCase());
    // Another user's upload is indistinguishable from a missing one.
    if (!upload || upload.userId !== userId) throw new NotFoundError(`Upload ${uploadId} not found`);
    const duration = upload.media?.duration;
    return { status: 200, body: uploadView(upload, playbackUrlSigner(config.hotlink, duration)) };
  },
);
