/** What every COS handler uses: the request's target and headers, and COS's answers (XML, empty, `<Error>` documents). */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from '../context.ts';
import { corsHeaders, newRequestId } from '../http-front.ts';
import { toXml } from './xml.ts';

export class CosError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CosTarget {
  /** `<bucket>-<appid>`; undefined in the bare `Domain: host:port` form until the credential names it. */
  bucket: string | undefined;
  region: string | undefined;
  /** Decoded object key without the leading "/" ("" for bucket-level requests). */
  key: string;
  rawQuery: string;
  /** Host shown in `Location` / `Resource`. */
  host: string;
}

export type Target = CosTarget & { bucket: string };

export function sendCosError(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  error: CosError,
  target: CosTarget,
): void {
  const requestId = newRequestId();
  const body = toXml({
    Error: {
      Code: error.code,
      Message: error.message,
      Resource: `${target.host}/${target.key}`,
      RequestId: requestId,
      TraceId: Buffer.from(requestId).toString('base64'),
    },
  });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(error.status, {
    ...corsHeaders(req),
    'content-type': 'application/xml',
    'content-length': String(req.method === 'HEAD' ? 0 : Buffer.byteLength(body)),
    'x-cos-request-id': requestId,
    date: new Date(ctx.now()).toUTCString(),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function contentMd5Matches(req: IncomingMessage, md5: Buffer): boolean {
  const given = header(req, 'content-md5');
  return given === undefined || given === md5.toString('base64');
}

export function baseHeaders(ctx: EmulatorContext, req: IncomingMessage): Record<string, string> {
  return {
    ...corsHeaders(req),
    'x-cos-request-id': newRequestId(),
    date: new Date(ctx.now()).toUTCString(),
    server: 'tencent-cos',
  };
}

export function sendXml(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, {
    ...baseHeaders(ctx, req),
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(xml)),
  });
  res.end(xml);
}

export function sendEmpty(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...baseHeaders(ctx, req), 'content-length': '0', ...headers });
  res.end();
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** `encoding-type=url` asks for URL-encoded keys and prefixes in list results. */
export const encoderFor = (q: Map<string, string>) => (value: string) =>
  q.get('encoding-type') === 'url' ? encodeURIComponent(value) : value;
