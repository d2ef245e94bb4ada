/**
 * Receiving one VOD callback: authenticate it (lib/callback-auth.ts), hand its body to `handle`, and,
 * with CALLBACK_DIAGNOSTICS, log its shape. Tencent does not document a callback's Content-Type nor
 * where Sign/T ride (vod-protocol/events.md §4.5): the shape line lets an operator see what real
 * callbacks carry, by NAME ONLY — the Content-Type, header, query and top-level body key names, where
 * Sign/T were found, the event type and the verdict. Never a token, Sign, key or body value.
 */
import { authenticatedCallbackBody, locateCallbackSign, type CallbackAuthNotes } from '#lib/callback-auth';
import type { Config } from '#lib/config';
import { HttpError, InvalidInputError } from '#lib/errors';
import type { HttpRequest, HttpResponse } from '#lib/http';

/** Bounds on what one shape line lists: a hostile body must not make a huge log line. */
const MAX_NAMES = 40;
const MAX_NAME_LENGTH = 64;
/** An event type is logged only when it looks like one (VOD's are PascalCase words). */
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

export type CallbackVerdict = 'accepted' | 'refused' | 'failed';

/** The fields of the diagnostics line. Their names avoid the words lib/log redacts (token, sign…). */
export interface CallbackShape {
  contentType: string;
  headerNames: string[];
  queryNames: string[];
  /** Where the URL token was: `path`, `query` or `none`. */
  urlAuthAt: 'path' | 'query' | 'none';
  bodyKeys: string[] | string;
  /** `body Sign+T`, `query sign+t`, `header x-vod-sign+x-vod-t`, or `not found` (and which halves were). */
  signAndTAt: string;
  eventType: string;
  verdict: CallbackVerdict;
  status: number;
  reason?: string;
}

/**
 * Authenticates the callback and runs `handle` on its body. Errors propagate unchanged (lib/http
 * answers them); the diagnostics line is written either way.
 */
export async function receiveCallback(
  request: HttpRequest,
  settings: Config['callback'],
  handle: (body: unknown) => Promise<HttpResponse>,
): Promise<HttpResponse> {
  const notes: CallbackAuthNotes = {};
  try {
    const response = await handle(authenticatedCallbackBody(request, settings, undefined, notes));
    if (settings.diagnostics) request.log.info('callback shape', { ...describeCallback(request, notes, response.status) });
    return response;
  } catch (error) {
    if (settings.diagnostics)
      request.log.info('callback shape', { ...describeCallback(request, notes, statusOf(error), reasonOf(error, notes)) });
    throw error;
  }
}

/** The shape of a callback, by name only. */
function describeCallback(request: HttpRequest, notes: CallbackAuthNotes, status: number, reason?: string): CallbackShape {
  const { body, bodyRead } = notes;
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  // Query and headers are looked at even when the body was not read.
  const sign = locateCallbackSign(bodyRead ? body : undefined, request.query, request.headers);
  const unread = bodyRead ? '' : ' (body not read)';
  return {
    contentType: request.headers['content-type']?.slice(0, 120) ?? '(none)',
    headerNames: names(Object.keys(request.headers)),
    queryNames: names(Object.keys(request.query)),
    urlAuthAt: request.query.token !== undefined ? 'query' : request.pathParams.token !== undefined ? 'path' : 'none',
    bodyKeys: !bodyRead
      ? '(not read)'
      : isObject
        ? names(Object.keys(body))
        : body === undefined
          ? '(empty)'
          : `(a JSON ${Array.isArray(body) ? 'array' : body === null ? 'null' : typeof body}, not an object)`,
    signAndTAt:
      sign.foundAt ??
      (sign.partial.length === 0 ? `not found${unread}` : `not found as a pair${unread} (only ${sign.partial.join(', ')})`),
    eventType: eventTypeOf(isObject ? (body as Record<string, unknown>).EventType : undefined),
    verdict: status < 400 ? 'accepted' : status < 500 ? 'refused' : 'failed',
    status,
    ...(reason === undefined ? {} : { reason }),
  };
}

function eventTypeOf(value: unknown): string {
  if (value === undefined) return '(none)';
  return typeof value === 'string' && EVENT_TYPE.test(value) ? value : '(not a name)';
}

function names(list: string[]): string[] {
  const shown = list
    .slice(0, MAX_NAMES)
    .map((name) => (name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name));
  return list.length > MAX_NAMES ? [...shown, `…and ${list.length - MAX_NAMES} more`] : shown;
}

/** The status lib/http answers for `error`. */
function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof InvalidInputError) return 400;
  return 500;
}

/**
 * Why, without values: authentication's own words, else the error's code and the field it names
 * (an event parser's message may quote the body).
 */
function reasonOf(error: unknown, notes: CallbackAuthNotes): string {
  if (notes.refusal !== undefined) return notes.refusal;
  if (error instanceof HttpError || error instanceof InvalidInputError) {
    const field = error instanceof InvalidInputError ? error.field : (error.details.field as string | undefined);
    return field === undefined ? error.code : `${error.code} (${field})`;
  }
  return 'unexpected error';
}
