/**
 * The one HTTP adapter every HTTP function goes through. It accepts both SCF event shapes (API-gateway
 * integration events and function-URL events), normalises headers, body (base64 too), query and path
 * parameters, answers CORS preflights, enforces the body size limit, and turns errors into JSON:
 * `HttpError`s keep their status and code, an `InvalidInputError` from the domain is a 400 naming its
 * field; anything else is a 500 that names only the request id.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import {
  BadRequestError,
  ForbiddenError,
  HttpError,
  InvalidInputError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '#lib/errors';
import type { LogFields, Logger } from '#lib/log';
import { matchRoute } from '#lib/route-template';

/** SCF's API-gateway integration event; function-URL events are the same minus the marked fields. */
export interface ScfHttpEvent {
  httpMethod?: string;
  path?: string;
  headers?: Record<string, string | string[] | undefined> | null;
  body?: string | null;
  queryString?: Record<string, string | string[] | undefined> | null;
  /** API gateway only. */
  isBase64Encoded?: boolean;
  requestContext?: { requestId?: string; sourceIp?: string; httpMethod?: string; path?: string } | null;
  pathParameters?: Record<string, string> | null;
  queryStringParameters?: Record<string, string> | null;
  headerParameters?: Record<string, string> | null;
}

export interface ScfContext {
  request_id?: string;
  function_name?: string;
  [key: string]: unknown;
}

export interface ScfHttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
}

export interface HttpRequest {
  method: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  query: Record<string, string>;
  pathParams: Record<string, string>;
  body: Buffer;
  requestId: string;
  sourceIp?: string;
  log: Logger;
}

export interface HttpResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface HttpHandlerOptions {
  /** Methods the function serves; anything else is a 405 (OPTIONS is handled here for CORS). */
  methods: readonly string[];
  /** Route template such as `/uploads/{uploadId}`; its `{names}` become `pathParams`. */
  route?: string;
  corsAllowedOrigins: readonly string[];
  maxBodyBytes: number;
  log: Logger;
}

/**
 * Every error answer's body (docs/openapi.json is generated from it: lib/openapi.ts). Built when asked for: the
 * bundles never ask, so they do not carry it.
 */
export const errorBodySchema = () =>
  z.strictObject({
    error: z.strictObject({
      code: z
        .string()
        .check(z.minLength(1))
        .register(z.globalRegistry, { description: 'Stable, machine-readable: InvalidRequest, Unauthorized, NotFound…' }),
      message: z.string().check(z.minLength(1)).register(z.globalRegistry, { description: 'What was wrong, for a person' }),
      field: z.optional(z.string()).register(z.globalRegistry, { description: 'The bad input, when one is to blame' }),
      requestId: z
        .optional(z.string())
        .register(z.globalRegistry, { description: 'Only on a 500: quote it when reporting the error' }),
      retryAfter: z
        .optional(z.int().check(z.gte(1)))
        .register(z.globalRegistry, { description: 'Only on a 429: seconds, as in Retry-After' }),
      limit: z
        .optional(z.int().check(z.gte(1)))
        .register(z.globalRegistry, { description: 'Only on a 429 TooManyPendingUploads: the cap' }),
    }),
  });

const CORS_ALLOWED_HEADERS = 'authorization, content-type, x-request-id';
const CORS_EXPOSED_HEADERS = 'retry-after, x-request-id';

function firstValue(value: string | string[] | undefined | null): string | undefined {
  return Array.isArray(value) ? value[0] : (value ?? undefined);
}

function lowerCaseHeaders(headers: ScfHttpEvent['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = firstValue(value);
    if (first !== undefined) out[name.toLowerCase()] = String(first);
  }
  return out;
}

function queryOf(event: ScfHttpEvent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const source of [event.queryStringParameters, event.queryString]) {
    for (const [name, value] of Object.entries(source ?? {})) {
      const first = firstValue(value);
      if (first !== undefined) out[name] = String(first);
    }
  }
  return out;
}

function corsHeaders(origin: string | undefined, allowed: readonly string[]): Record<string, string> | undefined {
  if (origin === undefined || allowed.length === 0) return undefined;
  if (allowed.includes('*')) return { 'access-control-allow-origin': '*', 'access-control-expose-headers': CORS_EXPOSED_HEADERS };
  if (!allowed.includes(origin)) return undefined;
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': CORS_EXPOSED_HEADERS, vary: 'Origin' };
}

export interface JsonBodyOptions {
  /**
   * Read the body as JSON whatever its Content-Type says (missing, `text/plain`, a form type…). For
   * senders that do not document their Content-Type, such as VOD's callbacks (vod-protocol/events.md §4.5).
   */
  anyContentType?: boolean;
}

/** Reused: without `stream`, each decode starts afresh. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a JSON body. Empty → undefined; wrong content type → 415 (unless told otherwise); broken JSON → 400. */
export function jsonBody(request: HttpRequest, options: JsonBodyOptions = {}): unknown {
  if (request.body.length === 0) return undefined;
  const type = request.headers['content-type'];
  if (!options.anyContentType && type !== undefined && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    throw new UnsupportedMediaTypeError('application/json');
  }
  let text: string;
  try {
    text = UTF8.decode(request.body);
  } catch {
    throw new BadRequestError('The request body is not valid UTF-8', undefined, 'InvalidJson');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError('The request body is not valid JSON', undefined, 'InvalidJson');
  }
}

/**
 * A request's logger: the function's logger with the request id on every line, as `log.child` would give,
 * but with its methods on a prototype: nothing to build per request until a line is written.
 */
class RequestLogger implements Logger {
  constructor(
    private readonly parent: Logger,
    private readonly fields: LogFields,
  ) {}
  debug(message: string, fields?: LogFields): void {
    this.parent.debug(message, { ...this.fields, ...fields });
  }
  info(message: string, fields?: LogFields): void {
    this.parent.info(message, { ...this.fields, ...fields });
  }
  warn(message: string, fields?: LogFields): void {
    this.parent.warn(message, { ...this.fields, ...fields });
  }
  error(message: string, fields?: LogFields): void {
    this.parent.error(message, { ...this.fields, ...fields });
  }
  child(fields: LogFields): Logger {
    return new RequestLogger(this.parent, { ...this.fields, ...fields });
  }
}

export function httpHandler(
  options: HttpHandlerOptions,
  handle: (request: HttpRequest) => Promise<HttpResponse>,
): (event: ScfHttpEvent, context?: ScfContext) => Promise<ScfHttpResult> {
  const methods = options.methods.map((m) => m.toUpperCase());

  return async (event, context) => {
    const started = Date.now();
    const fromApiGateway =
      event !== null && typeof event === 'object' && ('requestContext' in event || 'isBase64Encoded' in event);
    const headers = lowerCaseHeaders(event?.headers);
    const requestId = context?.request_id ?? event?.requestContext?.requestId ?? headers['x-scf-request-id'] ?? randomUUID();
    const method = String(event?.httpMethod ?? event?.requestContext?.httpMethod ?? '').toUpperCase();
    const path = String(event?.path ?? event?.requestContext?.path ?? '/');
    const log: Logger = new RequestLogger(options.log, { requestId });
    const cors = corsHeaders(headers.origin, options.corsAllowedOrigins);
    let status = 500;

    const respond = (response: HttpResponse): ScfHttpResult => {
      status = response.status;
      const body = response.body === undefined ? '' : JSON.stringify(response.body);
      const result: ScfHttpResult = {
        statusCode: response.status,
        headers: {
          ...(body === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
          'cache-control': 'no-store',
          'x-request-id': requestId,
          ...cors,
          ...response.headers,
        },
        body,
      };
      if (fromApiGateway) result.isBase64Encoded = false;
      return result;
    };

    const errorResponse = (error: unknown): ScfHttpResult => {
      if (error instanceof HttpError) {
        if (error.status >= 500) log.error('request failed', { error });
        return respond({
          status: error.status,
          headers: error.headers,
          body: { error: { code: error.code, message: error.message, ...error.details } },
        });
      }
      if (error instanceof InvalidInputError) {
        const field = error.field === undefined ? {} : { field: error.field };
        return respond({ status: 400, body: { error: { code: error.code, message: error.message, ...field } } });
      }
      log.error('unexpected error', { error });
      return respond({
        status: 500,
        body: { error: { code: 'InternalError', message: 'Internal error; quote the request id when reporting it', requestId } },
      });
    };

    try {
      if (event === null || typeof event !== 'object' || method === '') {
        throw new BadRequestError('Not an HTTP event', undefined, 'InvalidEvent');
      }
      let pathParams: Record<string, string> = {};
      if (options.route !== undefined) {
        const matched = event.pathParameters ?? matchRoute(options.route, path);
        if (matched === undefined) throw new NotFoundError(`No route matches ${options.route}`);
        pathParams = { ...matched };
      }

      if (method === 'OPTIONS') {
        if (headers.origin === undefined || headers['access-control-request-method'] === undefined) {
          return respond({ status: 204, headers: { allow: [...methods, 'OPTIONS'].join(', ') } });
        }
        if (cors === undefined) throw new ForbiddenError(`Origin ${headers.origin} is not allowed`);
        return respond({
          status: 204,
          headers: {
            'access-control-allow-methods': [...methods, 'OPTIONS'].join(', '),
            'access-control-allow-headers': CORS_ALLOWED_HEADERS,
            'access-control-max-age': '600',
          },
        });
      }
      if (!methods.includes(method)) throw new MethodNotAllowedError(method, methods);

      const rawBody = event.body ?? '';
      if (typeof rawBody !== 'string') throw new BadRequestError('The request body must be a string', undefined, 'InvalidEvent');
      // Cheap bound before decoding: base64 is 4/3 the size of its bytes.
      if (rawBody.length > options.maxBodyBytes * (event.isBase64Encoded ? 4 / 3 : 4) + 4) {
        throw new PayloadTooLargeError(options.maxBodyBytes);
      }
      const body = event.isBase64Encoded ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8');
      if (body.length > options.maxBodyBytes) throw new PayloadTooLargeError(options.maxBodyBytes);

      const request: HttpRequest = {
        method,
        path,
        headers,
        query: queryOf(event),
        pathParams,
        body,
        requestId,
        sourceIp: event.requestContext?.sourceIp ?? headers['x-scf-remote-addr'],
        log,
      };
      return respond(await handle(request));
    } catch (error) {
      return errorResponse(error);
    } finally {
      // The route template, not the path: a path may carry a secret (the callback token).
      log.info('request', { method, route: options.route ?? path.split('?')[0], status, ms: Date.now() - started });
    }
  };
}
