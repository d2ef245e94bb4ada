/**
 * VOD emulator: one HTTP(S) server on one port that stands in for the parts of Tencent Cloud VOD this
 * backend and its clients talk to. Requests are routed by host and path:
 *
 *   COS, virtual host   Host `<bucket>-<appid>.cos.<region>.myqcloud.com` (or an absolute-URI request line
 *                       naming it: cos-nodejs-sdk-v5 `Proxy: <emulator url>`)
 *   COS, Domain form    `/cos/<bucket>-<appid>/<region>/<key>`: cos-nodejs-sdk-v5
 *                       `Domain: '<host:port>/cos/{Bucket}/{Region}'` (see `emulator.cosDomain`)
 *   COS, bare Domain    `Domain: '<host:port>'`: a COS-signed request to any other path; the bucket is
 *                       the one the temporary credential was issued for
 *   media files         GET/HEAD `/media/<storagePath without leading />` (or Host `<appId>.vod2.myqcloud.com`),
 *                       originals and processing outputs; Key hotlink protection when `hotlinkKey` is set;
 *                       403 for every file of a media forbidden by ForbidMediaDistribution
 *   UGC upload API      POST `/v3/index.php?Action=ApplyUploadUGC|CommitUploadUGC|PrepareUploadUGC`
 *   API 3.0             POST `/` with `X-TC-Action` (TC3-HMAC-SHA256)
 *   play info           GET `/getplayinfo/v4/<appId>/<fileId>?psign=…` (Host playvideo.qcloud.com): play-info.ts
 *   admin               GET/POST `/__admin/faults`, GET/POST `/__admin/review-rules`, GET `/__admin/health` (this machine only, see `admin`)
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_ACTIONS } from './api/actions.ts';
import { forbiddenMediaOf } from './api/forbid-actions.ts';
import { handleApi, readApiBody, sendApiError } from './api/endpoint.ts';
import type { ActionHandler } from './api/endpoint.ts';
import { handleCos, parseVirtualHost } from './cos/router.ts';
import { sendObject } from './cos/objects.ts';
import type { CosTarget } from './cos/messages.ts';
import type { EmulatorContext } from './context.ts';
import { fullBucketName } from './context.ts';
import { EventHub } from './events.ts';
import { Faults } from './faults.ts';
import type { FaultConfig } from './faults.ts';
import { sendJson as sendJsonBody } from '../http-body.ts';
import { corsHeaders, newRequestId, preflight, readBody, sendJson } from './http-front.ts';
import { ObjectFiles } from './objects.ts';
import { Processor } from './processing/pool.ts';
import { CdnKeyCheck, sendForbidden } from './cdn-key-check.ts';
import { resolveOptions } from './options.ts';
import type { EmulatorOptions } from './options.ts';
import { objectIndexKey, StateStore } from './state.ts';
import { handleUgc } from './ugc.ts';
import { handlePlayInfo } from './play-info.ts';
import { reviewRulesAdmin } from './review/admin.ts';
import { startReviews, stopReviews } from './review/tasks.ts';
import { UGC_CODES } from '#contract';

export type { EmulatorOptions, EmulatorCredential, EventConfig, EventTimings } from './options.ts';
export type { FaultConfig } from './faults.ts';
export type { ActionHandler, ActionContext } from './api/endpoint.ts';
export { API_ACTIONS } from './api/actions.ts';
export { ApiError } from './api/error.ts';
export { UGC_CODES } from '#contract';

export interface StartOptions extends EmulatorOptions {
  /** Extra or replacement API 3.0 actions, merged over `API_ACTIONS`. */
  actions?: Record<string, ActionHandler>;
  /**
   * Observer called for every request as it arrives (tests count requests with it); may return a
   * function that is called when the response has finished or the connection closed.
   */
  onRequest?: (request: { method: string; url: string; host: string }) => undefined | (() => void);
}

export interface Emulator {
  /** Base URL, e.g. http://127.0.0.1:8081 */
  url: string;
  port: number;
  host: string;
  appId: number;
  region: string;
  storageAppId: number;
  /** Value for cos-nodejs-sdk-v5's `Domain` option (with `Protocol: 'http:'`). */
  cosDomain: string;
  /** Endpoint for tencentcloud-sdk-nodejs-vod's `httpProfile.endpoint` (`host:port`). */
  apiEndpoint: string;
  /** Full COS bucket name (`<bucket>-<storageAppId>`) of an application in a region. */
  bucketFor(appId?: number, region?: string): string;
  /** Event hub: `on('event' | 'push' | 'pushDropped', …)`, `idle()`. */
  events: EventHub;
  /** Media processing: `pause()`, `resume()`, `idle()`, `on('taskStarted' | 'taskFinished' | 'subtaskChanged', …)`. */
  processing: Processor;
  setFaults(config: FaultConfig): FaultConfig;
  getFaults(): FaultConfig;
  /** Resolves once every PUSH delivery started so far has finished. */
  flush(): Promise<void>;
  /** Internals, for white-box tests and the next parts of the local cloud. */
  context: EmulatorContext;
  close(): Promise<void>;
}

function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const LOOPBACK_PEERS = ['127.0.0.1', '::1', '::ffff:127.0.0.1'];

function isLoopbackOrigin(origin: string): boolean {
  try {
    return LOOPBACK_NAMES.includes(new URL(origin).hostname);
  } catch {
    return false; // `null` (a sandboxed or file: page) or garbage
  }
}

function decodeKey(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath;
  }
}

export async function startEmulator(options: StartOptions): Promise<Emulator> {
  const resolved = resolveOptions(options);
  const store = new StateStore(resolved.dataDir);
  const files = new ObjectFiles(resolved.dataDir);
  const faults = new Faults(resolved.faults);
  const events = new EventHub(store, resolved, faults);
  const actions: Record<string, ActionHandler> = { ...API_ACTIONS, ...options.actions };
  let baseUrl = '';
  const ctx = {
    options: resolved,
    store,
    files,
    faults,
    events,
    now: () => resolved.clock(),
    baseUrl: () => baseUrl,
  } as EmulatorContext;
  const processing = new Processor(ctx);
  ctx.processing = processing;
  startReviews(ctx);
  const keyCheck = new CdnKeyCheck(ctx);
  const held = new Set<NodeJS.Timeout>();

  /** Applies API fault injection; true when the call was consumed by a fault. */
  function injectFault(req: IncomingMessage, res: ServerResponse, action: string, respondError: () => void): boolean {
    const fault = faults.forApiCall(action);
    if (!fault) return false;
    if (fault.kind === 'internalError') {
      respondError();
      return true;
    }
    req.resume();
    const timer = setTimeout(() => {
      held.delete(timer);
      res.destroy();
    }, fault.ms);
    held.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      held.delete(timer);
    });
    return true;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let rawUrl = req.url ?? '/';
    let host = firstHeader(req, 'host') ?? '';
    const absolute = /^https?:\/\/([^/?#]+)(.*)$/i.exec(rawUrl);
    if (absolute) {
      host = absolute[1]!;
      rawUrl = absolute[2] || '/';
    }
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const rawQuery = q < 0 ? '' : rawUrl.slice(q + 1);
    const hostname = host.replace(/:\d+$/, '');

    const vhost = parseVirtualHost(host);
    if (vhost) {
      return handleCos(ctx, req, res, { ...vhost, key: decodeKey(rawPath.slice(1)), rawQuery, host: hostname });
    }
    const pathStyle = /^\/cos\/([a-z0-9-]+-\d+)\/([a-z0-9-]+)(?:\/(.*))?$/.exec(rawPath);
    if (pathStyle) {
      const target: CosTarget = {
        bucket: pathStyle[1]!,
        region: pathStyle[2]!,
        key: decodeKey(pathStyle[3] ?? ''),
        rawQuery,
        host: `${pathStyle[1]}.cos.${pathStyle[2]}.myqcloud.com`,
      };
      return handleCos(ctx, req, res, target);
    }
    const mediaHost = /^\d+\.vod2\.myqcloud\.com$/.test(hostname);
    if (rawPath.startsWith('/media/') || mediaHost) {
      return serveMedia(req, res, decodeKey(mediaHost ? rawPath.slice(1) : rawPath.slice('/media/'.length)), rawPath, rawQuery);
    }
    if (rawPath === '/v3/index.php') {
      if (req.method === 'OPTIONS') return preflight(req, res);
      const action = new URLSearchParams(rawQuery).get('Action') ?? '';
      const faulted = injectFault(req, res, action, () =>
        sendJson(req, res, 200, { code: UGC_CODES.InternalError, message: 'internal error (injected fault)', data: {} }),
      );
      if (faulted) return;
      return handleUgc(ctx, req, res, action);
    }
    if (rawPath.startsWith('/getplayinfo/v4/')) return handlePlayInfo(ctx, req, res, rawPath, rawQuery);
    if (rawPath.startsWith('/__admin/')) return admin(req, res, rawPath, hostname);
    if (rawPath === '/' && req.headers['x-tc-action'] !== undefined) {
      const requestId = newRequestId();
      const action = String(req.headers['x-tc-action']);
      if (
        injectFault(req, res, action, () =>
          sendApiError(req, res, requestId, 'InternalError', 'An internal error occurred (injected fault).'),
        )
      )
        return;
      const body = await readApiBody(req);
      return handleApi(ctx, req, res, actions, body, requestId);
    }
    const auth = firstHeader(req, 'authorization') ?? '';
    if (auth.startsWith('q-sign-algorithm=') || rawQuery.includes('q-sign-algorithm=')) {
      return handleCos(ctx, req, res, {
        bucket: undefined,
        region: undefined,
        key: decodeKey(rawPath.slice(1)),
        rawQuery,
        host: hostname,
      });
    }
    if (req.method === 'OPTIONS') return preflight(req, res);
    sendJson(req, res, 404, { error: { code: 'NotFound', message: `No emulator route for ${req.method} ${rawPath}` } });
  }

  async function serveMedia(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    rawPath: string,
    rawQuery: string,
  ): Promise<void> {
    if (req.method === 'OPTIONS') return preflight(req, res);
    const short = key.split('/')[0] ?? '';
    const bucket = `${short}-${resolved.storageAppId}`;
    // ForbidMediaDistribution: any file of a forbidden media, signed or not (api/forbid-actions.ts); checked
    // first so a refused request uses up no `rlimit` client slot.
    const forbidden = forbiddenMediaOf(ctx, bucket, key);
    if (forbidden) return sendForbidden(res, `the media ${forbidden.fileId} is forbidden`, 'ForbidMediaDistribution');
    const decision = keyCheck.check(req, rawPath, rawQuery);
    if (!decision.ok) return sendForbidden(res, decision.reason);
    let meta = store.doc.objects[objectIndexKey(bucket, key)];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !meta) {
      sendJson(req, res, meta ? 405 : 404, {
        error: { code: meta ? 'MethodNotAllowed' : 'NotFound', message: meta ? 'use GET or HEAD' : `no media file ${key}` },
      });
      return;
    }
    if (decision.exper > 0 && key.endsWith('.ts') && keyCheck.segmentStart(meta) >= decision.exper) {
      return sendForbidden(res, `exper: this segment starts after the ${decision.exper} s preview`);
    }
    if (keyCheck.enabled && key.endsWith('.m3u8')) {
      const body = keyCheck.playlist(meta, decision);
      res.writeHead(200, {
        ...corsHeaders(req),
        'content-type': meta.contentType,
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (decision.exper > 0 && key.endsWith('.mp4')) {
      try {
        const file = await keyCheck.preview(meta, decision.exper);
        const stat = fs.statSync(file);
        meta = { ...meta, file, size: stat.size, etag: `"${path.basename(file, '.mp4')}"` };
      } catch (error) {
        sendJson(req, res, 500, {
          error: { code: 'InternalError', message: `preview failed: ${error instanceof Error ? error.message : String(error)}` },
        });
        return;
      }
    }
    try {
      sendObject(ctx, req, res, meta, { 'cache-control': keyCheck.enabled ? 'no-cache' : 'max-age=3600' });
    } catch {
      res.writeHead(416, { ...corsHeaders(req), 'content-range': `bytes */${meta.size}`, 'content-length': '0' });
      res.end();
    }
  }

  /**
   * The admin endpoints change how the emulator behaves, so they answer only this machine, as the stack's
   * `/local/*` do: Host a loopback name (not a page that rebinds a DNS name to 127.0.0.1), a loopback
   * peer, no cross-site Origin, writes only as JSON (a form or `text/plain` needs no CORS preflight), and
   * no CORS headers on the answers.
   */
  async function admin(req: IncomingMessage, res: ServerResponse, rawPath: string, hostname: string): Promise<void> {
    const reply = (status: number, body: unknown) => sendJsonBody(res, status, body, { 'cache-control': 'no-store' });
    const refuse = (status: number, code: string, message: string) => {
      req.resume();
      reply(status, { error: { code, message } });
    };
    const origin = firstHeader(req, 'origin');
    if (!LOOPBACK_NAMES.includes(hostname) || !LOOPBACK_PEERS.includes(req.socket.remoteAddress ?? '')) {
      return refuse(403, 'Forbidden', 'The /__admin endpoints answer only on localhost');
    }
    if (origin !== undefined && !isLoopbackOrigin(origin))
      return refuse(403, 'Forbidden', `The /__admin endpoints refuse requests from the page ${origin}`);
    if (rawPath === '/__admin/health' && req.method === 'GET') return reply(200, { ok: true, appId: resolved.appId });
    if (rawPath === '/__admin/faults' && req.method === 'GET') return reply(200, faults.get());
    if (rawPath === '/__admin/review-rules') return reviewRulesAdmin(ctx, req, reply, refuse);
    if (rawPath === '/__admin/faults' && req.method === 'POST') {
      const type = (firstHeader(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json')
        return refuse(415, 'UnsupportedMediaType', 'POST /__admin/faults takes Content-Type: application/json');
      try {
        const text = (await readBody(req, 64 << 10)).toString('utf8');
        return reply(200, faults.set(text ? JSON.parse(text) : {}));
      } catch (error) {
        return reply(400, { error: { code: 'InvalidFaults', message: error instanceof Error ? error.message : String(error) } });
      }
    }
    refuse(404, 'NotFound', `No admin route ${req.method} ${rawPath}`);
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const finished = options.onRequest?.({ method: req.method ?? '', url: req.url ?? '', host: firstHeader(req, 'host') ?? '' });
    if (finished) res.once('close', finished);
    route(req, res).catch((error: unknown) => {
      resolved.log(`request ${req.method} ${req.url} failed: ${error instanceof Error ? error.stack : String(error)}`);
      if (!res.headersSent) {
        sendJson(req, res, 500, { error: { code: 'InternalError', message: 'emulator error' } });
      } else {
        res.destroy();
      }
    });
  };
  const server = resolved.tls
    ? https.createServer({ key: resolved.tls.key, cert: resolved.tls.cert }, listener)
    : http.createServer(listener);
  server.requestTimeout = 0; // large uploads may take long
  server.headersTimeout = 60_000;
  // Idle connections outlive the clients' own (Node's agent drops them after 5 s): the client always closes
  // first, so a request never races the server closing its socket (ECONNRESET on a reused connection).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
  baseUrl = `${resolved.tls ? 'https' : 'http'}://${urlHost}:${port}`;
  events.resumePending();
  processing.start();

  let closed = false;
  return {
    url: baseUrl,
    port,
    host: resolved.host,
    appId: resolved.appId,
    region: resolved.region,
    storageAppId: resolved.storageAppId,
    cosDomain: `${urlHost}:${port}/cos/{Bucket}/{Region}`,
    apiEndpoint: `${urlHost}:${port}`,
    bucketFor: (appId = resolved.appId, region = resolved.region) => fullBucketName(ctx, appId, region),
    events,
    processing,
    setFaults: (config) => faults.set(config),
    getFaults: () => faults.get(),
    flush: () => events.idle(),
    context: ctx,
    async close() {
      if (closed) return;
      closed = true;
      await stopReviews(ctx);
      await processing.close();
      events.close();
      for (const timer of held) clearTimeout(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await events.idle();
      await store.flush();
    },
  };
}

/** Reads PEM files for `tls` (CLI convenience). */
export function readTls(keyFile: string, certFile: string): { key: string; cert: string } {
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
}
