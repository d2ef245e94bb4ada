/**
 * API 3.0 endpoint (`POST /` with X-TC-Action, docs/vod-protocol/api-signing.md §6): TC3-HMAC-SHA256 verification and
 * the error envelope (HTTP 200, `Response.Error.{Code,Message}`, `RequestId`) around the action
 * handlers of actions.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from '../context.ts';
import { BodyTooLargeError, readBody, sendJson } from '../http-front.ts';
import { ApiError } from './error.ts';
import { verifyTc3 } from './tc3.ts';

const API_VERSION = '2018-07-17';

export interface ActionContext {
  ctx: EmulatorContext;
  /** The application the call is for: `SubAppId` when given, else the primary AppId. */
  appId: number;
  requestId: string;
  region: string | undefined;
  /** Aborted when the client goes away (long polls stop early). */
  signal: AbortSignal;
}

export type ActionHandler = (
  call: ActionContext,
  params: Record<string, unknown>,
) => Promise<Record<string, unknown>> | Record<string, unknown>;

function appIdFor(ctx: EmulatorContext, params: Record<string, unknown>): number {
  const sub = params.SubAppId;
  if (sub === undefined || sub === null || sub === 0 || sub === ctx.options.appId) return ctx.options.appId;
  if (typeof sub !== 'number' || !ctx.options.subAppIds.includes(sub)) {
    throw new ApiError('InvalidParameterValue.SubAppId', `SubAppId ${String(sub)} is not an application of this account.`);
  }
  return sub;
}

function sendApiResponse(req: IncomingMessage, res: ServerResponse, requestId: string, body: Record<string, unknown>): void {
  sendJson(req, res, 200, { Response: { ...body, RequestId: requestId } });
}

export function sendApiError(req: IncomingMessage, res: ServerResponse, requestId: string, code: string, message: string): void {
  sendApiResponse(req, res, requestId, { Error: { Code: code, Message: message } });
}

/** Handles one API 3.0 request. Fault injection is applied by the caller (index.ts). */
export async function handleApi(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  actions: Record<string, ActionHandler>,
  body: Buffer,
  requestId: string,
): Promise<void> {
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  try {
    const action = req.headers['x-tc-action'];
    if (typeof action !== 'string' || action === '')
      throw new ApiError('MissingParameter', 'The X-TC-Action header is required.');
    const [path = '/', rawQuery = ''] = (req.url ?? '/').split('?', 2);
    verifyTc3(
      { method: req.method ?? 'POST', path: path.replace(/^https?:\/\/[^/]+/, '') || '/', rawQuery, headers: req.headers, body },
      ctx.options.credentials,
      ctx.now(),
    );
    const version = req.headers['x-tc-version'];
    if (version !== API_VERSION)
      throw new ApiError('NoSuchVersion', `The API version ${String(version)} does not exist; use ${API_VERSION}.`);
    const handler = Object.hasOwn(actions, action) ? actions[action] : undefined;
    if (!handler) throw new ApiError('InvalidAction', `The action ${action} does not exist.`);
    let params: Record<string, unknown>;
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      params = parsed as Record<string, unknown>;
    } catch {
      throw new ApiError('InvalidParameter', 'The request body must be a JSON object.');
    }
    const regionHeader = req.headers['x-tc-region'];
    const result = await handler(
      {
        ctx,
        appId: appIdFor(ctx, params),
        requestId,
        region: typeof regionHeader === 'string' ? regionHeader : undefined,
        signal: abort.signal,
      },
      params,
    );
    sendApiResponse(req, res, requestId, result);
  } catch (error) {
    if (error instanceof ApiError) return sendApiError(req, res, requestId, error.code, error.message);
    if (error instanceof BodyTooLargeError) return sendApiError(req, res, requestId, 'InvalidParameter', error.message);
    ctx.options.log(`API call failed: ${error instanceof Error ? error.stack : String(error)}`);
    sendApiError(req, res, requestId, 'InternalError', 'An internal error occurred.');
  }
}

/** Reads the body of an API call (bounded). */
export const readApiBody = (req: IncomingMessage) => readBody(req, 10 << 20);
