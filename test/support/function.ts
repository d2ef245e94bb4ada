/**
 * Loads a function module in-process with a given environment, as SCF would load it in a fresh
 * instance (module scope runs again: config, logger, database handle).
 */
import type { ScfHttpEvent, ScfHttpResult } from '#lib/http';

export type HttpMainHandler = (event: ScfHttpEvent, context?: Record<string, unknown>) => Promise<ScfHttpResult>;

export function loadFunction(name: string, env: Record<string, string | undefined>): HttpMainHandler {
  const saved = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    let handler: HttpMainHandler | undefined;
    jest.isolateModules(() => {
      handler = (require(`../../functions/${name}/index.ts`) as { main_handler: HttpMainHandler }).main_handler;
    });
    return handler!;
  } finally {
    process.env = saved;
  }
}

export function functionUrlEvent(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): ScfHttpEvent {
  return {
    httpMethod: method,
    path,
    headers: { 'content-type': 'application/json', 'x-scf-remote-addr': '127.0.0.1', ...headers },
    body: body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body),
    queryString: {},
  };
}
