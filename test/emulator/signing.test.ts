/**
 * The emulator's verifiers against the official signers, over generated inputs: whatever
 * `tencentcloud-sdk-nodejs-common` Sign.sign3 and `cos-nodejs-sdk-v5` util.getAuth produce must verify,
 * and any change to what was signed must not.
 */
import fc from 'fast-check';
import type { IncomingHttpHeaders } from 'node:http';
import { computeCosSignature, parseCosAuthorization, parseQuery } from '../../local/emulator/cos/signature.ts';
import { ApiError } from '../../local/emulator/api/error.ts';
import { verifyTc3 } from '../../local/emulator/api/tc3.ts';

const Sign = (
  require('tencentcloud-sdk-nodejs-common/tencentcloud/common/sign') as {
    default: { sign3(args: Record<string, unknown>): string };
  }
).default;
const cosUtil = require('cos-nodejs-sdk-v5/sdk/util') as { getAuth(opt: Record<string, unknown>): string };

const credential = { secretId: 'AKIDpropertyTest', secretKey: 'property-secret-key' };

function tc3Request(
  payload: Record<string, unknown>,
  timestamp: number,
  host: string,
  tamper?: (body: string) => string,
  service = host.split('.')[0],
) {
  const url = `http://${host}/`;
  const authorization = Sign.sign3({
    method: 'POST',
    url,
    payload,
    timestamp,
    service,
    secretId: credential.secretId,
    secretKey: credential.secretKey,
    headers: { 'Content-Type': 'application/json' },
  });
  const body = JSON.stringify(payload);
  const headers: IncomingHttpHeaders = {
    authorization,
    'content-type': 'application/json',
    host,
    'x-tc-timestamp': String(timestamp),
  };
  return { method: 'POST', path: '/', rawQuery: '', headers, body: Buffer.from(tamper ? tamper(body) : body) };
}

const jsonObject = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 3 })),
  { maxKeys: 5 },
);

describe('TC3 verification accepts exactly what the official signer produces', () => {
  test('the credential scope names vod or the first label of the Host; any other service is refused', () => {
    const now = 1_764_000_000_000;
    for (const [host, service] of [
      ['127.0.0.1:8081', '127'],
      ['127.0.0.1:8081', 'vod'],
      ['localhost:9000', 'localhost:9000'],
      ['localhost:9000', 'localhost'],
      ['vod.tencentcloudapi.com', 'vod'],
    ]) {
      expect(verifyTc3(tc3Request({}, now / 1000, host!, undefined, service), [credential], now)).toBe(credential);
    }
    for (const [host, service] of [
      ['127.0.0.1:8081', 'cvm'],
      ['vod.tencentcloudapi.com', 'cos'],
      ['localhost:9000', '127'],
    ]) {
      expect(() => verifyTc3(tc3Request({}, now / 1000, host!, undefined, service), [credential], now)).toThrow(
        expect.objectContaining({ code: 'AuthFailure.SignatureFailure' }),
      );
    }
  });

  test('any payload, any host:port, a timestamp within 5 minutes', () => {
    fc.assert(
      fc.property(
        jsonObject,
        fc.integer({ min: -299, max: 299 }),
        fc.constantFrom('127.0.0.1:8081', 'localhost:9000', 'vod.tencentcloudapi.com'),
        (payload, skew, host) => {
          const now = 1_764_000_000_000;
          const req = tc3Request(payload, now / 1000 + skew, host);
          expect(verifyTc3(req, [credential], now)).toBe(credential);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('a changed body byte, a wrong key or a stale timestamp is refused', () => {
    fc.assert(
      fc.property(jsonObject, fc.nat(), (payload, position) => {
        const now = 1_764_000_000_000;
        const tampered = tc3Request(payload, now / 1000, '127.0.0.1:8081', (body) => {
          const i = position % body.length;
          return body.slice(0, i) + (body[i] === ' ' ? '!' : ' ') + body.slice(i + 1);
        });
        expect(() => verifyTc3(tampered, [credential], now)).toThrow(
          expect.objectContaining({ code: 'AuthFailure.SignatureFailure' }),
        );
        const good = tc3Request(payload, now / 1000, '127.0.0.1:8081');
        expect(() => verifyTc3(good, [{ ...credential, secretKey: 'other' }], now)).toThrow(ApiError);
        expect(() => verifyTc3(good, [credential], now + 301_000)).toThrow(
          expect.objectContaining({ code: 'AuthFailure.SignatureExpire' }),
        );
      }),
      { numRuns: 100 },
    );
  });
});

describe('COS sha1 verification matches cos-nodejs-sdk-v5 util.getAuth', () => {
  const keyArb = fc
    .array(fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('a b', '中文', "it's(1)*!", '%41', '+plus')), {
      minLength: 1,
      maxLength: 3,
    })
    .map((parts) => parts.join('/'));
  const queryArb = fc.dictionary(
    fc.constantFrom('uploadId', 'partNumber', 'prefix', 'uploads', 'max-parts', 'x a'),
    fc.string({ maxLength: 6 }),
    { maxKeys: 3 },
  );
  const headerArb = fc.dictionary(
    fc.constantFrom('Content-Type', 'Content-Length', 'Content-MD5', 'x-cos-meta-name', 'Range'),
    fc.string({ minLength: 1, maxLength: 8 }).filter((s) => s.trim() === s),
    { maxKeys: 3 },
  );

  test('signatures agree for any key, query and headers; a different key or method does not', () => {
    fc.assert(
      fc.property(
        keyArb,
        queryArb,
        headerArb,
        fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'HEAD'),
        (key, query, headers, method) => {
          const authorization = cosUtil.getAuth({
            SecretId: 'AKIDtmp',
            SecretKey: 'tmp-secret',
            Method: method,
            Pathname: `/${key}`,
            Query: { ...query },
            Headers: { ...headers },
            KeyTime: '1700000000;1700003600',
          });
          const auth = parseCosAuthorization(authorization)!;
          // (the SDK always signs "/" + Key, as getAuthorizationAsync does.) What the server sees: the query string as sent on the wire and lower-cased header names.
          const rawQuery = Object.entries(query)
            .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
            .join('&');
          const lowerHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
          const input = { method, pathname: `/${key}`, query: parseQuery(rawQuery), headers: lowerHeaders };
          expect(computeCosSignature(auth, input, 'tmp-secret')).toBe(auth.signature);
          expect(computeCosSignature(auth, { ...input, pathname: `/${key}x` }, 'tmp-secret')).not.toBe(auth.signature);
          expect(computeCosSignature(auth, { ...input, method: method === 'GET' ? 'PUT' : 'GET' }, 'tmp-secret')).not.toBe(
            auth.signature,
          );
          expect(computeCosSignature(auth, input, 'other-secret')).not.toBe(auth.signature);
        },
      ),
      { numRuns: 200 },
    );
  });
});
