/**
 * Checks answers against the OpenAPI document (lib/openapi.ts, written to docs/openapi.json by the
 * build) with a JSON Schema 2020-12 validator (ajv), so the document cannot drift from what the
 * functions answer. Every status an operation answers must be listed with its body's schema.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { buildOpenApiDocument } from '#lib/openapi';

type Json = Record<string, any>;

const document = buildOpenApiDocument() as Json;
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const compiled = new Map<string, ValidateFunction>();

/** The route templates of the document, for matching a URL path (`/uploads/abc` → `/uploads/{uploadId}`). */
export function routeOf(pathname: string): string | undefined {
  return Object.keys(document.paths).find((template) => {
    const pattern = new RegExp(`^${template.replace(/\{[^/]+\}/g, '[^/]+')}$`);
    return pattern.test(pathname);
  });
}

function validator(key: string, schema: Json): ValidateFunction {
  let validate = compiled.get(key);
  if (!validate) {
    // `#/components/schemas/X` → `#/$defs/X`: the response schema compiled on its own carries them.
    const text = JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/$defs/');
    validate = ajv.compile({ ...JSON.parse(text), $defs: document.components.schemas });
    compiled.set(key, validate);
  }
  return validate;
}

/**
 * Throws unless the document lists `status` for `method route` and `body` (parsed JSON, or undefined
 * for an empty body) matches its schema.
 */
export function expectMatchesOpenApi(method: string, route: string, status: number, body: unknown): void {
  let operation = document.paths[route]?.[method.toLowerCase()];
  // A method the path does not serve: each operation's 405 describes that answer.
  if (!operation && status === 405)
    operation = (Object.values(document.paths[route] ?? {}) as Json[]).find((op) => op.responses?.['405']);
  if (!operation) throw new Error(`OpenAPI: no operation ${method} ${route}`);
  const response = operation.responses[String(status)];
  if (!response) throw new Error(`OpenAPI: ${method} ${route} does not list status ${status} (answered ${JSON.stringify(body)})`);
  const schema = response.content?.['application/json']?.schema;
  if (schema === undefined) {
    if (body !== undefined)
      throw new Error(`OpenAPI: ${method} ${route} ${status} has no body, answered ${JSON.stringify(body)}`);
    return;
  }
  if (body === undefined) throw new Error(`OpenAPI: ${method} ${route} ${status} has a JSON body, answered none`);
  const validate = validator(`${method} ${route} ${status}`, schema);
  if (!validate(body)) {
    throw new Error(
      `OpenAPI: ${method} ${route} ${status} does not match: ${ajv.errorsText(validate.errors)}; body ${JSON.stringify(body).slice(0, 2000)}`,
    );
  }
}

/** For a function called in-process: its SCF event (method, path) and result (status, body text). */
export function expectAnswerMatchesOpenApi(
  event: { httpMethod?: string; path?: string },
  result: { statusCode: number; body: string },
): void {
  const route = routeOf(event.path ?? '/');
  if (route === undefined) throw new Error(`OpenAPI: no path matches ${event.path}`);
  expectMatchesOpenApi(
    event.httpMethod ?? 'GET',
    route,
    result.statusCode,
    result.body === '' ? undefined : JSON.parse(result.body),
  );
}

/**
 * A `fetch` that checks every answer from a documented path (not `/local/…`, pages or media; from
 * `apiUrl` only, when given) against the document before handing it back: for the upload client and
 * the end-to-end tests.
 */
export function checkedFetch(apiUrl?: string, inner: typeof fetch = globalThis.fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const route = apiUrl === undefined || url.origin === new URL(apiUrl).origin ? routeOf(url.pathname) : undefined;
    if (route === undefined) return response;
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const text = await response.clone().text();
    expectMatchesOpenApi(method, route, response.status, text === '' ? undefined : JSON.parse(text));
    return response;
  };
}
