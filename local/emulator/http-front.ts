/** The HTTP plumbing the emulator's front ends share: bounded bodies, CORS, JSON answers, request ids. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody as readLimitedBody, sendJson as sendJsonBody } from '../http-body.ts';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** Reads a small request body (API calls, XML documents) with a hard size limit. */
export async function readBody(req: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  const body = await readLimitedBody(req, limit);
  if (body === undefined) {
    // The rest is read and dropped, so the connection stays usable for the answer and after it.
    req.resume();
    throw new BodyTooLargeError(limit);
  }
  return body;
}

export const newRequestId = () => randomUUID();

/** CORS for browser clients (the web SDK calls the UGC API and COS cross-origin). */
export function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  return {
    'access-control-allow-origin': typeof origin === 'string' ? origin : '*',
    'access-control-expose-headers':
      'ETag, Content-Length, Content-Range, Content-Type, Date, x-cos-request-id, x-cos-version-id, x-cos-hash-crc64ecma',
    vary: 'Origin',
  };
}

export function preflight(req: IncomingMessage, res: ServerResponse): void {
  const requested = req.headers['access-control-request-headers'];
  res.writeHead(200, {
    ...corsHeaders(req),
    'access-control-allow-methods': 'GET, PUT, POST, DELETE, HEAD, OPTIONS',
    'access-control-allow-headers': typeof requested === 'string' ? requested : '*',
    'access-control-max-age': '600',
    'content-length': '0',
  });
  res.end();
}

export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonBody(res, status, body, { ...corsHeaders(req), ...headers });
}
