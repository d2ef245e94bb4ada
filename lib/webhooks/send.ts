/**
 * One HTTP POST of one webhook: no redirects followed (a 3xx is a failure), the whole exchange bounded
 * by the timeout, at most `MAX_RESPONSE_BYTES` of the answer read, and in production only public
 * addresses (lib/webhooks/address.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isPublicAddress, publicOnlyLookup } from './address.ts';

/** Enough for an error message from the receiver; the rest is not read. */
export const MAX_RESPONSE_BYTES = 1024;

export interface SendResult {
  /** Undefined when no answer came (timeout, refused connection, address refused). */
  status?: number;
  /** The first bytes of the answer, or what went wrong. */
  detail: string;
  ok: boolean;
}

export function postWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: { timeoutMs: number; publicOnly: boolean },
): Promise<SendResult> {
  const url = new URL(target);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (options.publicOnly && (url.protocol !== 'https:' || (isIP(host) && !isPublicAddress(host)))) {
    return Promise.resolve({ ok: false, detail: 'refused: not a public https address' });
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(result);
    };
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'vod-upload-backend-webhooks',
        },
        agent: false,
        ...(options.publicOnly ? { lookup: publicOnlyLookup } : {}),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          finish({
            status,
            ok: status >= 200 && status < 300,
            // Outside text: no control characters get into the outbox, the logs or a terminal (doctor).
            detail: Buffer.concat(chunks)
              .toString('utf8')
              .slice(0, MAX_RESPONSE_BYTES)
              .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' '),
          });
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_RESPONSE_BYTES) chunks.push(chunk.subarray(0, MAX_RESPONSE_BYTES - size));
          size += chunk.length;
          if (size >= MAX_RESPONSE_BYTES) done();
        });
        response.on('end', done);
        response.on('error', done);
      },
    );
    const timer = setTimeout(() => finish({ ok: false, detail: `timed out after ${options.timeoutMs} ms` }), options.timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: `${error.code ?? 'error'}: ${error.message}`.slice(0, 200) }),
    );
    request.end(body);
  });
}
