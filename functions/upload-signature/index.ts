/** POST /upload-signature: an authenticated app user asks for a VOD client-upload signature. */
import { createAuthenticator } from '#lib/auth';
import { httpHandler, jsonBody } from '#lib/http';
import { issueUploadSignature, signatureRequestParser } from '#lib/issue-upload-signature';
import { createRuntime } from '#lib/runtime';

const runtime = createRuntime('upload-signature', { userAuth: true });
const { config, log } = runtime;
const authenticate = createAuthenticator(config, log);
const parseRequest = signatureRequestParser(config);

export const main_handler = httpHandler(
  { methods: ['POST'], corsAllowedOrigins: config.http.corsAllowedOrigins, maxBodyBytes: config.http.maxBodyBytes, log },
  async (request) => {
    const { userId } = await authenticate(request.headers);
    const body = parseRequest(jsonBody(request));
    const db = await runtime.database();
    return { status: 200, body: await issueUploadSignature({ config, db, log: request.log }, userId, body) };
  },
);
