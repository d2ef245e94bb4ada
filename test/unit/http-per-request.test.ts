/**
 * What lib/http.ts builds once and shares between requests (the UTF-8 decoder, the request logger's
 * methods) must leave each request as if it were the first.
 */
import { httpHandler, jsonBody, type HttpRequest } from '#lib/http';
import { createLogger, setLogSink } from '#lib/log';

let lines: string[] = [];
let previousSink: (line: string) => void;
beforeEach(() => {
  lines = [];
  previousSink = setLogSink((line) => lines.push(line));
});
afterEach(() => setLogSink(previousSink));

const log = createLogger({ fn: 'test', stage: 'unit' }, 'info');
const handler = httpHandler(
  { methods: ['POST'], corsAllowedOrigins: [], maxBodyBytes: 1000, log },
  async (request: HttpRequest) => {
    request.log.info('handled', { uploadId: 'u1' });
    request.log.child({ userId: 'alice' }).warn('nested');
    return { status: 200, body: { json: jsonBody(request) ?? null } };
  },
);

const event = (body: string, isBase64Encoded = false) => ({
  httpMethod: 'POST',
  path: '/upload-signature',
  headers: { 'content-type': 'application/json' },
  body,
  isBase64Encoded,
});

describe('per-request state in the HTTP adapter', () => {
  test('a body that is not UTF-8 spoils neither the next body nor one split the same way', async () => {
    // "é" is c3 a9: the first body ends inside it, the second starts with its second byte.
    const broken = await handler(event(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0xc3]).toString('base64'), true), {});
    expect(broken.statusCode).toBe(400);
    expect(JSON.parse(broken.body).error.message).toBe('The request body is not valid UTF-8');
    const next = await handler(event(Buffer.from([0xa9]).toString('base64'), true), {});
    expect(JSON.parse(next.body).error.message).toBe('The request body is not valid UTF-8');
    const good = await handler(event('{"name":"été"}'), {});
    expect(JSON.parse(good.body)).toEqual({ json: { name: 'été' } });
  });

  test("the request's lines carry its id after the function's fields, as a child logger's would", async () => {
    await handler(event('{}'), { request_id: 'req-1' });
    await handler(event('{}'), { request_id: 'req-2' });
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const expected = createLogger({ fn: 'test', stage: 'unit' }, 'info');
    const reference: string[] = [];
    setLogSink((line) => reference.push(line));
    expected.child({ requestId: 'req-1' }).info('handled', { uploadId: 'u1' });
    expected.child({ requestId: 'req-1' }).child({ userId: 'alice' }).warn('nested');
    const keysOf = (line: string) => Object.keys(JSON.parse(line)).filter((key) => key !== 'time');
    expect(keysOf(lines[0]!)).toEqual(keysOf(reference[0]!));
    expect(keysOf(lines[1]!)).toEqual(keysOf(reference[1]!));
    expect(records.map(({ msg, requestId, userId, uploadId }) => ({ msg, requestId, userId, uploadId }))).toEqual([
      { msg: 'handled', requestId: 'req-1', userId: undefined, uploadId: 'u1' },
      { msg: 'nested', requestId: 'req-1', userId: 'alice', uploadId: undefined },
      { msg: 'request', requestId: 'req-1', userId: undefined, uploadId: undefined },
      { msg: 'handled', requestId: 'req-2', userId: undefined, uploadId: 'u1' },
      { msg: 'nested', requestId: 'req-2', userId: 'alice', uploadId: undefined },
      { msg: 'request', requestId: 'req-2', userId: undefined, uploadId: undefined },
    ]);
  });
});
