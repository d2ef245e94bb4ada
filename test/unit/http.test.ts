import fc from 'fast-check';
import { BadRequestError, InvalidInputError, TooManyRequestsError } from '#lib/errors';
import { httpHandler, jsonBody, type HttpRequest, type ScfHttpEvent } from '#lib/http';
import { matchRoute } from '#lib/route-template';
import { createLogger, setLogSink } from '#lib/log';
import { parseVodEvent } from '#lib/vod-event';

const log = createLogger({}, 'error');
let logLines: string[] = [];
let previousSink: (line: string) => void;
beforeEach(() => {
  logLines = [];
  previousSink = setLogSink((line) => logLines.push(line));
});
afterEach(() => setLogSink(previousSink));

const echo = httpHandler(
  {
    methods: ['POST', 'GET'],
    route: '/uploads/{uploadId}',
    corsAllowedOrigins: ['https://app.example.com'],
    maxBodyBytes: 100,
    log,
  },
  async (request: HttpRequest) => ({
    status: 200,
    body: {
      method: request.method,
      params: request.pathParams,
      query: request.query,
      auth: request.headers.authorization ?? null,
      json: jsonBody(request) ?? null,
    },
  }),
);

const apiGatewayEvent = (overrides: Partial<ScfHttpEvent> = {}): ScfHttpEvent => ({
  requestContext: { requestId: 'apigw-req', sourceIp: '10.0.0.1', httpMethod: 'POST', path: '/release/uploads/abc' },
  headers: { Authorization: 'Bearer t', 'Content-Type': 'application/json' },
  body: '{"a":1}',
  pathParameters: { uploadId: 'abc' },
  queryStringParameters: { q: '1' },
  headerParameters: {},
  path: '/release/uploads/abc',
  queryString: { q: '1' },
  httpMethod: 'POST',
  isBase64Encoded: false,
  ...overrides,
});

const functionUrlEvent = (overrides: Partial<ScfHttpEvent> = {}): ScfHttpEvent => ({
  headers: { authorization: 'Bearer t', 'content-type': 'application/json', 'x-scf-remote-addr': '10.0.0.2' },
  body: '{"a":1}',
  httpMethod: 'POST',
  path: '/uploads/abc',
  queryString: { q: ['1', '2'] },
  ...overrides,
});

const parse = (result: { body: string }) => JSON.parse(result.body);

describe('httpHandler', () => {
  test('API-gateway events: path parameters, headers in any case, isBase64Encoded in the reply', async () => {
    const result = await echo(apiGatewayEvent());
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(false);
    expect(result.headers['x-request-id']).toBe('apigw-req');
    expect(parse(result)).toEqual({
      method: 'POST',
      params: { uploadId: 'abc' },
      query: { q: '1' },
      auth: 'Bearer t',
      json: { a: 1 },
    });
  });

  test('function-URL events: path parameters from the route, first of repeated query values, no isBase64Encoded', async () => {
    const result = await echo(functionUrlEvent(), { request_id: 'ctx-req' });
    expect(result.statusCode).toBe(200);
    expect(result).not.toHaveProperty('isBase64Encoded');
    expect(result.headers['x-request-id']).toBe('ctx-req');
    expect(parse(result)).toMatchObject({ params: { uploadId: 'abc' }, query: { q: '1' }, json: { a: 1 } });
  });

  test('base64 bodies are decoded', async () => {
    const body = Buffer.from('{"b":"é"}').toString('base64');
    expect(parse(await echo(apiGatewayEvent({ body, isBase64Encoded: true }))).json).toEqual({ b: 'é' });
  });

  test('a body over the limit is a 413, before and after base64 decoding', async () => {
    const big = JSON.stringify({ x: 'y'.repeat(200) });
    const plain = await echo(functionUrlEvent({ body: big }));
    expect(plain.statusCode).toBe(413);
    expect(parse(plain).error.code).toBe('PayloadTooLarge');
    const encoded = await echo(apiGatewayEvent({ body: Buffer.from(big).toString('base64'), isBase64Encoded: true }));
    expect(encoded.statusCode).toBe(413);
  });

  test('broken JSON is a 400, a non-JSON content type a 415', async () => {
    const broken = await echo(functionUrlEvent({ body: '{"a":' }));
    expect(broken.statusCode).toBe(400);
    expect(parse(broken).error.code).toBe('InvalidJson');
    const form = await echo(functionUrlEvent({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }));
    expect(form.statusCode).toBe(415);
  });

  test('anyContentType (VOD callbacks) reads JSON under any Content-Type; the default still answers 415', async () => {
    const request = (contentType: string | undefined, body: string): HttpRequest => ({
      method: 'POST',
      path: '/vod-events',
      headers: contentType === undefined ? {} : { 'content-type': contentType },
      query: {},
      pathParams: {},
      body: Buffer.from(body),
      requestId: 'r',
      log,
    });
    for (const type of [
      undefined,
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=UTF-8',
    ]) {
      expect(jsonBody(request(type, '{"EventType":"X"}'), { anyContentType: true })).toEqual({ EventType: 'X' });
    }
    expect(() => jsonBody(request('text/plain', '{"EventType":"X"}'))).toThrow(expect.objectContaining({ status: 415 }));
    expect(() => jsonBody(request('application/x-www-form-urlencoded', 'EventType=X'), { anyContentType: true })).toThrow(
      expect.objectContaining({ status: 400, code: 'InvalidJson', message: 'The request body is not valid JSON' }),
    );
  });

  test('a wrong method is a 405 with Allow; a path outside the route a 404', async () => {
    const wrong = await echo(functionUrlEvent({ httpMethod: 'DELETE' }));
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe('POST, GET');
    expect((await echo(functionUrlEvent({ path: '/elsewhere' }))).statusCode).toBe(404);
  });

  test('CORS: allowed origins get headers and preflights; others get none or a 403', async () => {
    const origin = 'https://app.example.com';
    const allowed = await echo(functionUrlEvent({ headers: { origin, 'content-type': 'application/json' } }));
    expect(allowed.headers['access-control-allow-origin']).toBe(origin);
    expect(allowed.headers.vary).toBe('Origin');

    const preflight = await echo(
      functionUrlEvent({ httpMethod: 'OPTIONS', body: '', headers: { origin, 'access-control-request-method': 'POST' } }),
    );
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers']).toContain('authorization');

    const other = await echo(
      functionUrlEvent({ headers: { origin: 'https://evil.example', 'content-type': 'application/json' } }),
    );
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    const otherPreflight = await echo(
      functionUrlEvent({
        httpMethod: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      }),
    );
    expect(otherPreflight.statusCode).toBe(403);
  });

  test('typed errors keep status, code, details and headers', async () => {
    const handler = httpHandler({ methods: ['POST'], corsAllowedOrigins: [], maxBodyBytes: 100, log }, async () => {
      throw new TooManyRequestsError(2.2);
    });
    const result = await handler(functionUrlEvent());
    expect(result.statusCode).toBe(429);
    expect(result.headers['retry-after']).toBe('3');
    expect(parse(result)).toEqual({
      error: { code: 'RateLimited', message: 'Too many requests; retry after 3 s', retryAfter: 3 },
    });

    const bad = httpHandler({ methods: ['POST'], corsAllowedOrigins: [], maxBodyBytes: 100, log }, async () => {
      throw new BadRequestError('fileSize: too big', 'fileSize');
    });
    expect(parse(await bad(functionUrlEvent()))).toEqual({
      error: { code: 'InvalidRequest', message: 'fileSize: too big', field: 'fileSize' },
    });
  });

  test('a domain InvalidInputError is answered exactly like the BadRequestError it stands for', async () => {
    const throwing = (error: Error) =>
      httpHandler({ methods: ['POST'], corsAllowedOrigins: [], maxBodyBytes: 100, log }, async () => {
        throw error;
      });
    for (const field of ['FileUploadEvent.FileId', undefined]) {
      const domain = await throwing(new InvalidInputError('InvalidVodEvent', 'bad event', field))(functionUrlEvent(), {
        request_id: 'r',
      });
      const http = await throwing(new BadRequestError('bad event', field, 'InvalidVodEvent'))(functionUrlEvent(), {
        request_id: 'r',
      });
      expect(domain).toEqual(http);
      expect(domain.statusCode).toBe(400);
    }
    // The event model's parse error, as functions/vod-events answers it.
    const parsing = httpHandler({ methods: ['POST'], corsAllowedOrigins: [], maxBodyBytes: 1000, log }, async (request) => {
      parseVodEvent(jsonBody(request));
      return { status: 200 };
    });
    const reply = await parsing(functionUrlEvent({ body: '{"EventType":"NewFileUpload","FileUploadEvent":{"FileId":42}}' }));
    expect(reply.statusCode).toBe(400);
    expect(parse(reply)).toEqual({
      error: {
        code: 'InvalidVodEvent',
        message: 'Invalid VOD event: FileUploadEvent.FileId: is required and must be a string',
        field: 'FileUploadEvent.FileId',
      },
    });
    expect(parse(await parsing(functionUrlEvent({ body: '[]' })))).toEqual({
      error: { code: 'InvalidVodEvent', message: 'A VOD event must be a JSON object' },
    });
    expect(logLines).toEqual([]);
  });

  test('an unexpected error is a 500 naming only the request id; the detail goes to the log', async () => {
    const handler = httpHandler({ methods: ['POST'], corsAllowedOrigins: [], maxBodyBytes: 100, log }, async () => {
      throw new Error('connection to 10.1.2.3 failed: password authentication failed');
    });
    const result = await handler(functionUrlEvent(), { request_id: 'req-500' });
    expect(result.statusCode).toBe(500);
    expect(parse(result)).toEqual({
      error: { code: 'InternalError', message: expect.stringContaining('request id'), requestId: 'req-500' },
    });
    expect(result.body).not.toContain('10.1.2.3');
    expect(logLines.some((line) => line.includes('10.1.2.3') && line.includes('req-500'))).toBe(true);
  });

  test('a non-HTTP event is a 400, not a crash', async () => {
    expect((await echo({} as ScfHttpEvent)).statusCode).toBe(400);
    expect((await echo(null as unknown as ScfHttpEvent)).statusCode).toBe(400);
    expect((await echo({ httpMethod: 'POST', path: '/uploads/x', body: 42 } as unknown as ScfHttpEvent)).statusCode).toBe(400);
  });

  test('property: any event object gets a JSON reply with a status below 500', async () => {
    const handler = httpHandler(
      { methods: ['POST'], route: '/uploads/{uploadId}', corsAllowedOrigins: ['*'], maxBodyBytes: 1000, log },
      async (request) => ({
        status: 200,
        body: jsonBody(request) ?? null,
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            httpMethod: fc.oneof(fc.constantFrom('POST', 'GET', 'OPTIONS', 'post'), fc.string()),
            path: fc.oneof(fc.constant('/uploads/%E0%A4%A'), fc.string(), fc.constant('/uploads/abc')),
            headers: fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()))),
            body: fc.oneof(fc.string(), fc.json(), fc.constant(null)),
            isBase64Encoded: fc.boolean(),
            queryString: fc.dictionary(fc.string(), fc.string()),
          },
          { requiredKeys: [] },
        ),
        async (event) => {
          const result = await handler(event as ScfHttpEvent);
          expect(result.statusCode).toBeLessThan(500);
          if (result.body !== '') expect(() => JSON.parse(result.body)).not.toThrow();
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('matchRoute', () => {
  test('matches the end of the path and decodes parameters', () => {
    expect(matchRoute('/uploads/{uploadId}', '/release/uploads/a%20b')).toEqual({ uploadId: 'a b' });
    expect(matchRoute('/uploads/{uploadId}', '/uploads')).toBeUndefined();
    expect(matchRoute('/uploads/{uploadId}', '/files/x')).toBeUndefined();
  });
});

describe('matchRoute with an optional last parameter', () => {
  test('matches with and without it', () => {
    expect(matchRoute('/vod-events/{token?}', '/vod-events/abc')).toEqual({ token: 'abc' });
    expect(matchRoute('/vod-events/{token?}', '/release/vod-events')).toEqual({});
    expect(matchRoute('/vod-events/{token?}', '/other')).toBeUndefined();
  });
});
