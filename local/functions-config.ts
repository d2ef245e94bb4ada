/**
 * Reads the functions, their routes and their schedules from serverless.yml, the one place they are
 * declared, so the local gateway serves exactly what is deployed. HTTP routes come from a function's
 * `url: { method, path }` (SCF function URL) or from `apigw` events; schedules from `timer` events.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export interface FunctionRoute {
  method: string;
  /** Template such as `/uploads/{uploadId}`; a last `{name?}` segment is optional. */
  path: string;
}

export interface FunctionSchedule {
  name: string;
  /** SCF cron: seven fields, `sec min hour day month week year`. */
  cron: string;
  message?: string;
}

export interface FunctionDefinition {
  name: string;
  /** Absolute path of the bundle, from `handler: dist/<fn>/index.main_handler`. */
  bundle: string;
  exportName: string;
  timeoutSeconds: number;
  memoryMb: number;
  routes: FunctionRoute[];
  schedules: FunctionSchedule[];
}

type Yaml = Record<string, unknown>;
const asObject = (value: unknown): Yaml =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Yaml) : {};

export function readFunctions(serverlessYml: string): FunctionDefinition[] {
  // Variables such as ${env:X} are left as text: only names, handlers, routes and schedules are read.
  const document = asObject(parse(readFileSync(serverlessYml, 'utf8'), { merge: true }));
  const root = path.dirname(serverlessYml);
  const provider = asObject(document.provider);
  const definitions: FunctionDefinition[] = [];
  for (const [name, raw] of Object.entries(asObject(document.functions))) {
    const fn = asObject(raw);
    const handler = String(fn.handler ?? '');
    const match = /^(.*)\.([A-Za-z_$][\w$]*)$/.exec(handler);
    if (!match) throw new Error(`serverless.yml: function ${name} has no handler of the form <file>.<export>`);
    const routes: FunctionRoute[] = [];
    const schedules: FunctionSchedule[] = [];
    const url = asObject(fn.url);
    if (url.path) routes.push({ method: String(url.method ?? 'ANY').toUpperCase(), path: String(url.path) });
    for (const event of Array.isArray(fn.events) ? fn.events : []) {
      const apigw = asObject(asObject(event).apigw);
      const apigwParameters = asObject(apigw.parameters);
      if (apigwParameters.path) {
        routes.push({ method: String(apigwParameters.httpMethod ?? 'ANY').toUpperCase(), path: String(apigwParameters.path) });
      }
      const timer = asObject(asObject(event).timer);
      const timerParameters = asObject(timer.parameters);
      if (timerParameters.cronExpression && timerParameters.enable !== false) {
        schedules.push({
          name: String(timer.name ?? `${name}-timer`),
          cron: String(timerParameters.cronExpression),
          message: timerParameters.argument === undefined ? undefined : String(timerParameters.argument),
        });
      }
    }
    definitions.push({
      name,
      bundle: path.resolve(root, `${match[1]}.js`),
      exportName: match[2]!,
      timeoutSeconds: Number(fn.timeout ?? provider.timeout ?? 3),
      memoryMb: Number(fn.memorySize ?? provider.memorySize ?? 128),
      routes,
      schedules,
    });
  }
  return definitions;
}
