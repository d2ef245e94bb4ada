/**
 * The local stand-in for SCF: serves the built function bundles behind the routes serverless.yml
 * declares, turning each HTTP request into an SCF event (function-URL shape by default, API-gateway
 * shape on request) and the handler's answer back into HTTP; fires timer functions on their cron
 * schedules; gives every invocation a fresh context and the function's timeout.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseCron } from './cron';
import type { FunctionDefinition } from './functions-config';
import { readBody, sendJson } from './http-body.ts';
import { matchRoute } from '#lib/route-template';

export type EventShape = 'function-url' | 'api-gateway';

export interface GatewayOptions {
  functions: FunctionDefinition[];
  /** The functions' environment (default: this process's). */
  env?: Record<string, string | undefined>;
  port?: number;
  host?: string;
  eventShape?: EventShape;
  /** Files served for GET requests no function route claims (the web page). */
  staticDir?: string;
  /** Largest request body accepted before the function sees it (SCF's own limit is 6 MB). */
  maxBodyBytes?: number;
  log?: (message: string) => void;
  /** Start timers (default true). */
  timers?: boolean;
  /** Local-only endpoints (not functions) tried before the function routes; true when handled. */
  localRoutes?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
}

export interface Gateway {
  url: string;
  port: number;
  server: Server;
  /** Invokes a function by name as its timer would (tests, `npm start` commands). */
  invokeTimer(name: string): Promise<unknown>;
  close(): Promise<void>;
}

interface ScfResult {
  statusCode?: number;
  headers?: Record<string, string | string[]>;
  body?: string;
  isBase64Encoded?: boolean;
}

type MainHandler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'application/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
};

class TimeoutError extends Error {}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * A fresh module instance of a bundle, seeing `env` as its `process.env`: what a new SCF instance of
 * that function gets (its own environment, its own module state), even with several in one process.
 */
function loadInstance(bundle: string, env: Record<string, string | undefined>): Record<string, unknown> {
  // Compiled in this realm (not with vm), so the bundle shares globals with its host: the process-wide
  // database registry and log sink.
  const source = `${readFileSync(bundle, 'utf8')}\n//# sourceURL=${bundle}`;
  const wrapper = new Function('exports', 'require', 'module', '__filename', '__dirname', 'process', source) as (
    ...args: unknown[]
  ) => void;
  const instance = { exports: {} as Record<string, unknown> };
  const scopedProcess = new Proxy(process, { get: (target, key) => (key === 'env' ? env : Reflect.get(target, key, target)) });
  wrapper.call(instance.exports, instance.exports, createRequire(bundle), instance, bundle, path.dirname(bundle), scopedProcess);
  return instance.exports;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const log = options.log ?? ((message: string) => console.log(message));
  const shape = options.eventShape ?? 'function-url';
  const maxBody = options.maxBodyBytes ?? 6 * 1024 * 1024;
  const handlers = new Map<string, MainHandler>();
  const routes = options.functions.flatMap((fn) =>
    fn.routes.map((route) => ({ fn, method: route.method, template: route.path })),
  );

  /**
   * Loaded on first use, like an SCF instance's init, and kept warm afterwards. Each gateway compiles
   * its own copy (not through the require cache), so it reads the environment of its own start.
   */
  function handlerOf(fn: FunctionDefinition): MainHandler {
    let handler = handlers.get(fn.name);
    if (!handler) {
      if (!existsSync(fn.bundle)) throw new Error(`${fn.bundle} is missing: run \`npm run build\``);
      const loaded = loadInstance(fn.bundle, options.env ?? process.env);
      const exported = loaded[fn.exportName];
      if (typeof exported !== 'function') throw new Error(`${fn.bundle} does not export ${fn.exportName}`);
      handler = exported as MainHandler;
      handlers.set(fn.name, handler);
    }
    return handler;
  }

  const inFlight = new Set<Promise<unknown>>();

  /** Runs one invocation, tracked so that close() can let it finish. */
  function invoke(fn: FunctionDefinition, event: unknown, requestId: string): Promise<unknown> {
    const running = runInvocation(fn, event, requestId);
    inFlight.add(running);
    void running.then(
      () => inFlight.delete(running),
      () => inFlight.delete(running),
    );
    return running;
  }

  async function runInvocation(fn: FunctionDefinition, event: unknown, requestId: string): Promise<unknown> {
    const started = Date.now();
    const context = {
      request_id: requestId,
      function_name: fn.name,
      function_version: '$LATEST',
      namespace: 'default',
      memory_limit_in_mb: fn.memoryMb,
      time_limit_in_ms: fn.timeoutSeconds * 1000,
      getRemainingTimeInMillis: () => Math.max(0, fn.timeoutSeconds * 1000 - (Date.now() - started)),
    };
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        Promise.resolve().then(() => handlerOf(fn)(event, context)),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new TimeoutError(`${fn.name} timed out after ${fn.timeoutSeconds} s`)),
            fn.timeoutSeconds * 1000,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  function buildEvent(
    req: IncomingMessage,
    url: URL,
    body: Buffer,
    requestId: string,
    template: string,
    pathParameters: Record<string, string>,
  ): unknown {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers['x-scf-remote-addr'] = req.socket.remoteAddress ?? '127.0.0.1';
    headers['x-scf-request-id'] = requestId;
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = value;
    // Binary bodies travel base64-encoded, text ones as they are (as SCF does).
    const contentType = headers['content-type'] ?? '';
    const textual =
      body.length === 0 || /^(text\/|application\/(json|xml|x-www-form-urlencoded|[\w.+-]+\+json))/i.test(contentType);
    const base = {
      httpMethod: req.method,
      path: url.pathname,
      headers,
      queryString: query,
      body: textual ? body.toString('utf8') : body.toString('base64'),
    };
    if (shape === 'function-url') return textual ? base : { ...base, isBase64Encoded: true };
    return {
      ...base,
      requestContext: {
        serviceId: 'service-local',
        path: template,
        httpMethod: req.method,
        requestId,
        sourceIp: headers['x-scf-remote-addr'],
        stage: 'release',
        identity: {},
      },
      headerParameters: {},
      pathParameters,
      queryStringParameters: query,
      stageVariables: {},
      isBase64Encoded: !textual,
    };
  }

  function serveStatic(res: ServerResponse, pathname: string): boolean {
    if (!options.staticDir) return false;
    const decoded = safeDecode(pathname) ?? '';
    const relative = pathname === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
    const file = path.resolve(options.staticDir, relative);
    if (!file.startsWith(path.resolve(options.staticDir) + path.sep)) return false;
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat?.isFile()) return false;
    res.writeHead(200, {
      'content-type': STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': stat.size,
      'cache-control': 'no-cache',
    });
    // The file may vanish between stat and open (a rebuild): end this response, not the process.
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
    return true;
  }

  const server = createServer(async (req, res) => {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    // The adapter's own matcher, on the whole path: the routes are served exactly as declared.
    const candidates = routes.flatMap((r) => {
      const params = matchRoute(r.template, url.pathname, { whole: true });
      return params === undefined ? [] : [{ ...r, params }];
    });
    const route =
      candidates.find((r) => r.method === req.method || r.method === 'ANY') ?? candidates.find(() => req.method === 'OPTIONS');
    try {
      if (options.localRoutes && (await options.localRoutes(req, res, url))) return;
      if (!route) {
        // A path no file can have (a malformed escape, a NUL) is the caller's mistake, not a server error.
        const decoded = safeDecode(url.pathname);
        if (decoded === undefined || decoded.includes('\0')) {
          return sendJson(
            res,
            400,
            { error: { code: 'InvalidPath', message: 'The path has a malformed percent-escape or a NUL character' } },
            { 'x-request-id': requestId },
          );
        }
        if ((req.method === 'GET' || req.method === 'HEAD') && serveStatic(res, url.pathname)) return;
        if (candidates.length > 0) {
          res.setHeader('allow', [...new Set(candidates.map((r) => r.method))].join(', '));
          return sendJson(
            res,
            405,
            { error: { code: 'MethodNotAllowed', message: `Method ${req.method} is not allowed on ${url.pathname}` } },
            { 'x-request-id': requestId },
          );
        }
        return sendJson(
          res,
          404,
          { error: { code: 'NotFound', message: `No function serves ${req.method} ${url.pathname}` } },
          { 'x-request-id': requestId },
        );
      }
      const body = await readBody(req, maxBody);
      if (body === undefined) {
        // Answer first, then drop the rest of the upload.
        res.setHeader('connection', 'close');
        res.on('finish', () => req.destroy());
        return sendJson(
          res,
          413,
          { error: { code: 'PayloadTooLarge', message: `The request body exceeds ${maxBody} bytes` } },
          { 'x-request-id': requestId },
        );
      }
      const result = (await invoke(route.fn, buildEvent(req, url, body, requestId, route.template, route.params), requestId)) as
        | ScfResult
        | undefined;
      const status = Number(result?.statusCode ?? 200);
      const headers: Record<string, string | string[]> = { ...(result?.headers ?? {}) };
      const payload =
        result?.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
      if (result?.statusCode === undefined) {
        // A handler returning a plain value: SCF answers it as JSON.
        return sendJson(res, 200, result ?? null, { 'x-request-id': requestId });
      }
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : payload);
    } catch (error) {
      const timedOut = error instanceof TimeoutError;
      // The route template, not the path: a path may carry a secret (the callback token).
      log(`[gateway] ${route?.fn.name ?? '-'} ${req.method} ${route?.template ?? '-'}: ${(error as Error).message}`);
      sendJson(
        res,
        timedOut ? 504 : 502,
        {
          error: {
            code: timedOut ? 'FunctionTimeout' : 'FunctionError',
            message: timedOut ? 'The function timed out' : 'The function failed; see the gateway log',
            requestId,
          },
        },
        { 'x-request-id': requestId },
      );
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`Port ${options.port} is already in use: set PORT to a free port`) : error),
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const timers: NodeJS.Timeout[] = [];
  let closing = false;
  const timerFunctions = new Map<string, FunctionDefinition>();
  for (const fn of options.functions) {
    for (const schedule of fn.schedules) {
      timerFunctions.set(fn.name, fn);
      if (options.timers === false) continue;
      const cron = parseCron(schedule.cron);
      const arm = () => {
        const next = cron.next(new Date());
        if (!next || closing) return;
        const wait = next.getTime() - Date.now();
        // setTimeout cannot wait longer than 2^31 - 1 ms: wake up then and re-arm, without firing.
        if (wait > 2 ** 31 - 1) {
          timers.push(setTimeout(arm, 2 ** 31 - 1));
          return;
        }
        timers.push(
          setTimeout(async () => {
            const event = {
              Type: 'Timer',
              TriggerName: schedule.name,
              Time: next.toISOString().replace(/\.\d{3}Z$/, 'Z'),
              Message: schedule.message ?? '',
            };
            try {
              await invoke(fn, event, randomUUID());
            } catch (error) {
              log(`[gateway] timer ${schedule.name} (${fn.name}): ${(error as Error).message}`);
            }
            arm();
          }, wait),
        );
      };
      arm();
    }
  }

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    server,
    invokeTimer(name) {
      const fn = timerFunctions.get(name);
      if (!fn) return Promise.reject(new Error(`No timer function named ${name}`));
      return invoke(fn, { Type: 'Timer', TriggerName: 'manual', Time: new Date().toISOString(), Message: '' }, randomUUID());
    },
    async close() {
      closing = true;
      for (const timer of timers) clearTimeout(timer);
      // Stop taking requests, let running invocations finish, then drop the idle connections.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
      await closed;
    },
  };
}
