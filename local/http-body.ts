/**
 * Request bodies in, JSON out: the one implementation the local servers share (the emulator, the
 * gateway and the stack's /local endpoints).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Reads a request body of at most `limit` bytes. A larger one gives undefined, with the rest left unread
 * (the request paused): the caller answers, then drops the connection or `resume()`s to discard the rest.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Answers `body` as JSON; `headers` are added to the content headers. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}
