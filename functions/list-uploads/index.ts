/** GET /uploads: the caller's uploads newest first, in keyset pages (a service token: any user's); see lib/upload-library. */
import { createAuthenticator } from '#lib/auth';
import { httpHandler } from '#lib/http';
import { createRuntime } from '#lib/runtime';
import { listingQuery, listLibrary } from '#lib/upload-library';

const runtime = createRuntime('list-uploads', { userAuth: true });
const { config, log } = runtime;
const authenticate = createAuthenticator(config, log);

export const main_handler = httpHandler(
  {
    methods: ['GET'],
    route: '/uploads',
    corsAllowedOrigins: config.http.corsAllowedOrigins,
    maxBodyBytes: config.http.maxBodyBytes,
    log,
  },
  async (request) => {
    const caller = await authenticate(request.headers);
    const query = listingQuery(request.query);
    const db = await runtime.database();
    return { status: 200, body: await listLibrary({ config, db, log: request.log }, caller, query) };
  },
);
