/** GET /me/usage: the caller's quota limits and use (a service token may name `?userId=`); see lib/quota. */
import { createAuthenticator } from '#lib/auth';
import { httpHandler } from '#lib/http';
import { usageSubject, userUsage } from '#lib/quota';
import { createRuntime } from '#lib/runtime';

const runtime = createRuntime('usage', { userAuth: true });
const { config, log } = runtime;
const authenticate = createAuthenticator(config, log);

export const main_handler = httpHandler(
  {
    methods: ['GET'],
    route: '/me/usage',
    corsAllowedOrigins: config.http.corsAllowedOrigins,
    maxBodyBytes: config.http.maxBodyBytes,
    log,
  },
  async (request) => {
    const userId = usageSubject(await authenticate(request.headers), request.query);
    const db = await runtime.database();
    return { status: 200, body: await userUsage({ config, db }, userId) };
  },
);
