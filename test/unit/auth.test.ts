import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import { createAuthenticator } from '#lib/auth';
import { loadConfig } from '#lib/config';
import { createLogger } from '#lib/log';
import { functionEnv, TEST_JWT_SECRET } from '../support/env';
import { userToken } from '../support/jwt';

const log = createLogger({}, 'error');
const hs256 = createAuthenticator(loadConfig(functionEnv()), log);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return { status: (error as { status: number }).status, message: (error as Error).message };
  }
  throw new Error('expected the token to be refused');
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('JWT with an HS256 secret', () => {
  test('accepts a valid token and takes the user id from sub', async () => {
    expect(await hs256(bearer(await userToken('alice')))).toEqual({ userId: 'alice', admin: false });
  });

  test('the user id claim is configurable', async () => {
    const auth = createAuthenticator(loadConfig(functionEnv({ AUTH_USER_CLAIM: 'uid' })), log);
    const token = await new SignJWT({ uid: 'u-42' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect(await auth(bearer(token))).toEqual({ userId: 'u-42', admin: false });
    expect((await failure(auth(bearer(await userToken('alice'))))).message).toMatch(/"uid" claim/);
  });

  test.each([
    ['no header', {}, /Missing Authorization/],
    ['not bearer', { authorization: 'Basic YWxpY2U6cHc=' }, /Bearer <token>/],
    ['garbage', bearer('not.a.jwt'), /not valid/],
  ])('refuses %s with a 401', async (_name, headers, message) => {
    const { status, message: text } = await failure(hs256(headers as Record<string, string>));
    expect(status).toBe(401);
    expect(text).toMatch(message);
  });

  test('refuses expired, not-yet-valid, wrong issuer, wrong audience and wrong key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = await Promise.all([
      userToken('a', { expiresIn: now - 120 }),
      userToken('a', { notBefore: now + 600 }),
      userToken('a', { issuer: 'https://evil.example.com' }),
      userToken('a', { audience: 'another-app' }),
      userToken('a', { secret: 'another-secret-that-is-also-long-enough-0123' }),
    ]);
    const messages = [];
    for (const token of cases) {
      const { status, message } = await failure(hs256(bearer(token)));
      expect(status).toBe(401);
      messages.push(message);
    }
    expect(messages[0]).toMatch(/expired/);
    expect(messages[1]).toMatch(/nbf/);
    expect(messages[2]).toMatch(/iss/);
    expect(messages[3]).toMatch(/aud/);
    expect(messages[4]).toMatch(/signature/);
  });

  test('with AUTH_ALLOW_ANY_AUDIENCE=true in production any audience passes, the issuer is still checked', async () => {
    const env = functionEnv({
      STAGE: 'production',
      DATABASE_URL: 'postgres://db/x',
      AUTH_JWT_AUDIENCE: undefined,
      AUTH_ALLOW_ANY_AUDIENCE: 'true',
    });
    const auth = createAuthenticator(loadConfig(env), log);
    expect(await auth(bearer(await userToken('a', { audience: 'another-app' })))).toEqual({ userId: 'a', admin: false });
    expect((await failure(auth(bearer(await userToken('a', { issuer: 'https://evil.example.com' }))))).message).toMatch(/iss/);
  });

  test('tolerates the configured clock skew only', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await hs256(bearer(await userToken('a', { expiresIn: now - 10 })))).toEqual({ userId: 'a', admin: false });
    expect((await failure(hs256(bearer(await userToken('a', { expiresIn: now - 40 }))))).status).toBe(401);
  });

  test('refuses alg "none" and other algorithms', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'a', iss: 'https://login.example.com', aud: 'vod-upload', exp: 9999999999 })}.`;
    expect((await failure(hs256(bearer(unsigned)))).status).toBe(401);
    const hs512 = await new SignJWT({ sub: 'a' })
      .setProtectedHeader({ alg: 'HS512' })
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect((await failure(hs256(bearer(hs512)))).message).toMatch(/algorithm/);
  });

  test.each([[undefined], ['JWT'], ['jwt'], ['at+jwt'], ['AT+JWT'], ['application/at+jwt'], ['Application/JWT']])(
    'an access token with typ %s is accepted',
    async (typ) => {
      expect(await hs256(bearer(await userToken('alice', { typ })))).toEqual({ userId: 'alice', admin: false });
    },
  );

  test.each([
    ['refresh+jwt'],
    ['application/refresh+jwt'],
    ['id+jwt'],
    ['logout+jwt'],
    ['JWE'],
    ['at+jwt; x'],
    ['application/application/jwt'],
    [''],
  ])('a token with typ %p (not an access token) is refused with a 401', async (typ) => {
    const { status, message } = await failure(hs256(bearer(await userToken('alice', { typ }))));
    expect(status).toBe(401);
    expect(message).toMatch(/not an access token/);
  });

  test('a token without exp is refused', async () => {
    const token = await new SignJWT({ sub: 'a' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect((await failure(hs256(bearer(token)))).status).toBe(401);
  });
});

describe('JWT with a JWKS URL', () => {
  let server: Server;
  let jwksUrl: string;
  let requests = 0;
  const keys: { kid: string; alg: 'RS256' | 'ES256'; privateKey: KeyLike; jwk: JWK }[] = [];

  beforeAll(async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const { publicKey, privateKey } = await generateKeyPair(alg);
      keys.push({
        kid: `key-${alg}`,
        alg,
        privateKey: privateKey,
        jwk: { ...(await exportJWK(publicKey)), kid: `key-${alg}`, alg },
      });
    }
    server = createServer((_req, res) => {
      requests++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: keys.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const sign = (key: (typeof keys)[number], sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setSubject(sub)
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime('5m')
      .sign(key.privateKey);

  test('accepts RS256 and ES256 tokens from the key set, fetching it once', async () => {
    const auth = createAuthenticator(loadConfig(functionEnv({ AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: jwksUrl })), log);
    expect(await auth(bearer(await sign(keys[0]!, 'rsa-user')))).toEqual({ userId: 'rsa-user', admin: false });
    expect(await auth(bearer(await sign(keys[1]!, 'ec-user')))).toEqual({ userId: 'ec-user', admin: false });
    expect(requests).toBe(1);
  });

  test('refuses an HS256 token signed with the public key (algorithm confusion) and an unknown key', async () => {
    const auth = createAuthenticator(loadConfig(functionEnv({ AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: jwksUrl })), log);
    const confused = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: 'key-RS256' })
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(keys[0]!.jwk)));
    expect((await failure(auth(bearer(confused)))).status).toBe(401);
    const { privateKey } = await generateKeyPair('RS256');
    const stranger = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: 'unknown' })
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await failure(auth(bearer(stranger)))).status).toBe(401);
  });

  test('an unreachable key set is a 503, not a 401 or a 500', async () => {
    const auth = createAuthenticator(
      loadConfig(functionEnv({ AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: 'http://127.0.0.1:9/jwks.json' })),
      log,
    );
    expect((await failure(auth(bearer(await sign(keys[0]!, 'a'))))).status).toBe(503);
  });
});

describe('AUTH_MODE=none', () => {
  test('trusts X-User-Id, defaults to a local user, and refuses control characters', async () => {
    const auth = createAuthenticator(loadConfig(functionEnv({ AUTH_MODE: 'none' })), log);
    expect(await auth({})).toEqual({ userId: 'local-user', admin: false });
    expect(await auth({ 'x-user-id': 'bob' })).toEqual({ userId: 'bob', admin: false });
    expect((await failure(auth({ 'x-user-id': 'bob\nadmin' }))).status).toBe(401);
  });
});

describe('user ids, from a token claim or X-User-Id', () => {
  const none = createAuthenticator(loadConfig(functionEnv({ AUTH_MODE: 'none' })), log);

  test.each([
    ['a lone high surrogate', 'alice\ud800', /lone surrogate/],
    ['a lone low surrogate', '\udc00alice', /lone surrogate/],
    ['a surrogate pair in the wrong order', 'a\ude00\ud83d', /lone surrogate/],
    ['empty', '', /empty or blank/],
    ['only spaces', '   ', /empty or blank/],
    ['a leading space', ' alice', /start or end with a space/],
    ['a trailing space', 'alice ', /start or end with a space/],
    ['a tab', 'ali\tce', /control/],
    ['a line feed', 'bob\nadmin', /control/],
    ['DEL', 'alice\u007f', /control/],
    ['U+0085 next line (C1 control)', 'alice\u0085admin', /control/],
    ['U+2028 line separator', 'alice\u2028admin', /separator/],
    ['U+2029 paragraph separator', 'alice\u2029', /separator/],
    ['U+202E right-to-left override', 'alice\u202Egpj.exe', /format/],
    ['U+200B zero width space', 'ali\u200Bce', /format/],
    ['only a zero width space', '\u200B', /format/],
    ['U+FEFF byte order mark', '\uFEFFalice', /format/],
    ['U+00A0 no-break space', 'alice\u00A0', /separator/],
    ['U+3000 ideographic space', '\u3000', /separator/],
    ['U+3164 Hangul filler (invisible letter)', '\u3164', /invisible/],
    ['a decomposed (NFD) accent', 'Ame\u0301lie', /NFC/],
    ['129 characters', 'x'.repeat(129), /1-128 characters/],
    ['129 astral characters', '\u{1F600}'.repeat(129), /1-128 characters/],
  ])('%s is refused with a 401 saying why', async (_name, id, reason) => {
    const claim = await failure(hs256(bearer(await userToken(id))));
    expect(claim).toEqual({ status: 401, message: expect.stringMatching(/^The token's "sub" claim is not a usable user id: /) });
    expect(claim.message).toMatch(reason);
    const header = await failure(none({ 'x-user-id': id }));
    expect(header).toEqual({ status: 401, message: expect.stringMatching(/^X-User-Id is not a usable user id: /) });
    expect(header.message).toMatch(reason);
  });

  test.each([
    ['a number (123 and "123" could be two users)', 123, /string, not a number/],
    ['a float', 1.5, /string, not a number/],
    ['a boolean', true, /must be a string/],
    ['null', null, /must be a string/],
    ['an object', { id: 'alice' }, /must be a string/],
    ['an array', ['alice'], /must be a string/],
  ])('a claim holding %s is refused with a 401', async (_name, sub, reason) => {
    const { status, message } = await failure(hs256(bearer(await userToken(sub))));
    expect(status).toBe(401);
    expect(message).toMatch(reason);
  });

  test.each([
    ['a plain id', 'alice'],
    ['digits as a string', '123'],
    ['an identity-provider id', 'auth0|5f7c8ec7c33c6c004bbafe82'],
    ['an e-mail address', 'alice@example.com'],
    ['inner spaces', 'Jean  Dupont'],
    ['a precomposed (NFC) accent', 'Am\u00E9lie'],
    ['CJK', '\u5F20\u4F1F'],
    ['an astral character (a valid surrogate pair)', 'alice\u{1F600}'],
    ['128 characters', 'x'.repeat(128)],
    ['128 astral characters', '\u{1F600}'.repeat(128)],
  ])('%s is accepted as it is', async (_name, id) => {
    expect(await hs256(bearer(await userToken(id)))).toEqual({ userId: id, admin: false });
    expect(await none({ 'x-user-id': id })).toEqual({ userId: id, admin: false });
  });
});

describe('JWKS provider failures', () => {
  test('a key set answered with 500 or malformed JSON is a 503, not a 401', async () => {
    const { publicKey: _p, privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k' })
      .setSubject('a')
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime('5m')
      .sign(privateKey);
    for (const answer of [
      (res: import('node:http').ServerResponse) => res.writeHead(500).end('oops'),
      (res: import('node:http').ServerResponse) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": "nope"}'),
    ]) {
      const server = createServer((_req, res) => answer(res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
        const auth = createAuthenticator(loadConfig(functionEnv({ AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: url })), log);
        expect((await failure(auth(bearer(token)))).status).toBe(503);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});

describe('service tokens (AUTH_ADMIN_CLAIM)', () => {
  const withClaims = (claims: Record<string, unknown>, secret = TEST_JWT_SECRET) =>
    new SignJWT({ sub: 'app-backend', ...claims })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
  const scoped = createAuthenticator(loadConfig(functionEnv({ AUTH_ADMIN_CLAIM: 'scope=vod-upload:admin' })), log);

  test.each([
    ['the exact value', { scope: 'vod-upload:admin' }],
    ['one word of a space-separated scope', { scope: 'openid profile vod-upload:admin email' }],
    ['an element of an array', { scope: ['openid', 'vod-upload:admin'] }],
  ])('%s makes the token a service token', async (_name, claims) => {
    expect(await scoped(bearer(await withClaims(claims)))).toEqual({ userId: 'app-backend', admin: true });
  });

  test.each([
    ['no such claim', {}],
    ['a longer word', { scope: 'vod-upload:admins' }],
    ['a prefix', { scope: 'vod-upload:adm' }],
    ['another case', { scope: 'VOD-UPLOAD:ADMIN' }],
    ['a word inside another', { scope: 'xvod-upload:admin' }],
    ['a comma-separated list', { scope: 'openid,vod-upload:admin' }],
    ['a tab-separated list', { scope: 'openid\tvod-upload:admin' }],
    ['surrounding spaces kept in an array element', { scope: [' vod-upload:admin'] }],
    ['a nested array', { scope: [['vod-upload:admin']] }],
    ['an object', { scope: { 'vod-upload:admin': true } }],
    ['the value in another claim', { scp: 'vod-upload:admin', roles: ['vod-upload:admin'] }],
    ['the value as the user id', { sub: 'vod-upload:admin' }],
  ])('%s leaves a user token a user token', async (_name, claims) => {
    const answer = await scoped(bearer(await withClaims(claims)));
    expect(answer.admin).toBe(false);
  });

  test('numbers and booleans are compared as what they are, never as their text', async () => {
    const numeric = createAuthenticator(loadConfig(functionEnv({ AUTH_ADMIN_CLAIM: 'level=1' })), log);
    expect((await numeric(bearer(await withClaims({ level: 1 })))).admin).toBe(false);
    expect((await numeric(bearer(await withClaims({ level: [1] })))).admin).toBe(false);
    expect((await numeric(bearer(await withClaims({ level: '1' })))).admin).toBe(true);
    const flag = createAuthenticator(loadConfig(functionEnv({ AUTH_ADMIN_CLAIM: 'admin=true' })), log);
    expect((await flag(bearer(await withClaims({ admin: true })))).admin).toBe(false);
    expect((await flag(bearer(await withClaims({ admin: 'true' })))).admin).toBe(true);
  });

  test('without AUTH_ADMIN_CLAIM no token is a service token', async () => {
    expect(await hs256(bearer(await withClaims({ scope: 'vod-upload:admin', admin: true, role: 'admin' })))).toEqual({
      userId: 'app-backend',
      admin: false,
    });
  });

  test('a service token is verified like any other: a wrong key or an expired one is a 401', async () => {
    const wrongKey = await withClaims({ scope: 'vod-upload:admin' }, 'another-secret-that-is-also-long-enough-0123');
    expect((await failure(scoped(bearer(wrongKey)))).status).toBe(401);
    const expired = await new SignJWT({ sub: 'app-backend', scope: 'vod-upload:admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://login.example.com')
      .setAudience('vod-upload')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect((await failure(scoped(bearer(expired)))).status).toBe(401);
  });

  test('the setting must be <claim>=<value>, naming another claim than the user id', () => {
    for (const bad of ['scope', '=vod-upload:admin', 'scope=', 'scope=two words', 'sco pe=x']) {
      expect(() => loadConfig(functionEnv({ AUTH_ADMIN_CLAIM: bad }))).toThrow(/AUTH_ADMIN_CLAIM/);
    }
    expect(() => loadConfig(functionEnv({ AUTH_ADMIN_CLAIM: 'sub=admin' }))).toThrow(/another claim than AUTH_USER_CLAIM/);
    const config = loadConfig(functionEnv({ AUTH_ADMIN_CLAIM: 'roles=vod=admin' }));
    expect(config.auth.mode === 'jwt' && config.auth.adminClaim).toEqual({ name: 'roles', value: 'vod=admin' });
    expect(loadConfig(functionEnv({ AUTH_ADMIN_CLAIM: '' })).auth).not.toHaveProperty('adminClaim');
  });

  test('AUTH_MODE=none: X-User-Role: admin (exactly) makes the caller admin', async () => {
    const none = createAuthenticator(loadConfig(functionEnv({ AUTH_MODE: 'none' })), log);
    expect(await none({ 'x-user-role': 'admin' })).toEqual({ userId: 'local-user', admin: true });
    expect(await none({ 'x-user-id': 'bob', 'x-user-role': 'admin' })).toEqual({ userId: 'bob', admin: true });
    expect((await none({ 'x-user-role': 'Admin' })).admin).toBe(false);
    expect((await none({ 'x-user-role': 'admin ' })).admin).toBe(false);
  });
});
