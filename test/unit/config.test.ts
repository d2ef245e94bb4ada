import { ConfigError, loadConfig } from '#lib/config';
import { functionEnv } from '../support/env';

function configError(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('a minimal environment gets safe defaults', () => {
    const config = loadConfig(functionEnv());
    expect(config.vod.region).toBe('ap-guangzhou');
    expect(config.vod.subAppId).toBe(1500000001);
    expect(config.upload.signatureValiditySeconds).toBe(3600);
    expect(config.upload.oneTimeSignature).toBe(false);
    expect(config.upload.allowedTypes).toContain('mp4');
    expect(config.rateLimit).toEqual({ signatures: 60, windowSeconds: 60 });
    expect(config.http.corsAllowedOrigins).toEqual([]);
    expect(config.database).toEqual({ url: undefined, poolMax: 2, dataDir: '.data' });
    expect(config.auth).toMatchObject({ mode: 'jwt', userClaim: 'sub', clockSkewSeconds: 30 });
  });

  test.each([
    ['VOD_SECRET_ID', { VOD_SECRET_ID: undefined }],
    ['VOD_SECRET_KEY', { VOD_SECRET_KEY: '  ' }],
    ['VOD_SUB_APP_ID', { VOD_SUB_APP_ID: 'abc' }],
    ['VOD_REGION', { VOD_REGION: 'Guangzhou' }],
    ['VOD_API_ENDPOINT', { VOD_API_ENDPOINT: 'http://127.0.0.1:8081' }],
    ['AUTH_MODE', { AUTH_MODE: 'basic' }],
    ['AUTH_JWT_SECRET', { AUTH_JWT_SECRET: 'short' }],
    ['AUTH_JWKS_URL', { AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: 'not a url' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['SIGNATURE_VALIDITY_SECONDS', { SIGNATURE_VALIDITY_SECONDS: '7776001' }],
    ['UPLOAD_TASK_PRIORITY', { UPLOAD_PROCEDURE: 'p', UPLOAD_TASK_PRIORITY: '11' }],
    ['UPLOAD_TASK_NOTIFY_MODE', { UPLOAD_PROCEDURE: 'p', UPLOAD_TASK_NOTIFY_MODE: 'Sometimes' }],
    ['UPLOAD_ONE_TIME_SIGNATURE', { UPLOAD_ONE_TIME_SIGNATURE: 'maybe' }],
    ['RATE_LIMIT_SIGNATURES', { RATE_LIMIT_SIGNATURES: '0' }],
    ['HTTP_MAX_BODY_BYTES', { HTTP_MAX_BODY_BYTES: '1.5' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
  ])('a missing or malformed %s fails, naming the variable', (variable, patch) => {
    expect(configError(functionEnv(patch))).toContain(variable);
  });

  test('cross-checks: AUTH_MODE=none is refused in production, and jwt needs a key source', () => {
    expect(configError(functionEnv({ STAGE: 'production', AUTH_MODE: 'none', DATABASE_URL: 'postgres://db/x' }))).toMatch(
      /AUTH_MODE=none.*production/,
    );
    expect(loadConfig(functionEnv({ AUTH_MODE: 'none' })).auth.mode).toBe('none');
    expect(configError(functionEnv({ AUTH_JWT_SECRET: undefined }))).toMatch(/AUTH_JWT_SECRET or AUTH_JWKS_URL/);
    // Functions that never authenticate users do not need a JWT key; vod-events needs its tokens.
    expect(loadConfig(functionEnv({ AUTH_JWT_SECRET: undefined }), {}).auth.mode).toBe('jwt');
    expect(() => loadConfig(functionEnv(), { callbackTokens: true })).toThrow(/CALLBACK_TOKENS/);
    expect(configError(functionEnv({ AUTH_JWKS_URL: 'https://login.example.com/jwks.json' }))).toMatch(/only one/);
    expect(configError(functionEnv({ STAGE: 'production' }))).toMatch(/DATABASE_URL is required/);
    expect(configError(functionEnv({ UPLOAD_TASK_PRIORITY: '3' }))).toMatch(/UPLOAD_PROCEDURE/);
  });

  describe('in production', () => {
    const production = (patch: Record<string, string | undefined> = {}, stage = 'production') =>
      functionEnv({ STAGE: stage, DATABASE_URL: 'postgres://db/x', ...patch });

    test.each([['production'], ['prod'], ['PROD']])('a complete environment with STAGE=%s loads', (stage) => {
      const config = loadConfig(production({}, stage));
      expect(config.production).toBe(true);
      expect(config.auth).toMatchObject({ issuer: 'https://login.example.com', audience: 'vod-upload' });
    });

    test.each([
      ['AUTH_JWT_ISSUER', 'production', { AUTH_JWT_ISSUER: undefined }],
      ['AUTH_JWT_ISSUER', 'prod', { AUTH_JWT_ISSUER: '  ' }],
      [
        'AUTH_JWT_ISSUER',
        'production',
        { AUTH_JWT_ISSUER: undefined, AUTH_JWT_AUDIENCE: undefined, AUTH_ALLOW_ANY_AUDIENCE: 'true' },
      ],
      ['AUTH_JWT_AUDIENCE', 'production', { AUTH_JWT_AUDIENCE: undefined }],
      ['AUTH_JWT_AUDIENCE', 'Prod', { AUTH_JWT_AUDIENCE: '' }],
      ['AUTH_JWT_AUDIENCE', 'production', { AUTH_JWT_AUDIENCE: undefined, AUTH_ALLOW_ANY_AUDIENCE: 'false' }],
      [
        'AUTH_JWT_AUDIENCE',
        'production',
        { AUTH_JWKS_URL: 'https://login.example.com/jwks.json', AUTH_JWT_SECRET: undefined, AUTH_JWT_AUDIENCE: undefined },
      ],
    ])('without %s (STAGE=%s) the configuration fails, naming it', (variable, stage, patch) => {
      const message = configError(production(patch, stage));
      expect(message).toContain(`${variable} is required when STAGE is production`);
    });

    test.each([
      ['unset, for upload-signature', { VOD_SUB_APP_ID: undefined }, { userAuth: true }],
      ['blank, with STAGE=prod', { VOD_SUB_APP_ID: ' ', STAGE: 'prod' }, { userAuth: true }],
      [
        'unset, for vod-events',
        { VOD_SUB_APP_ID: undefined, CALLBACK_TOKENS: 'callback-token-0123456789' },
        { callbackTokens: true },
      ],
      ['unset, for cleanup', { VOD_SUB_APP_ID: undefined }, {}],
    ])('VOD_SUB_APP_ID %s fails the configuration, naming it', (_case, patch, needs) => {
      expect(() => loadConfig(production(patch), needs)).toThrow(ConfigError);
      expect(() => loadConfig(production(patch), needs)).toThrow(/VOD_SUB_APP_ID is required when STAGE is production/);
      // Outside production it stays optional.
      expect(loadConfig({ ...production(patch), STAGE: 'dev' }, needs).vod.subAppId).toBeUndefined();
    });

    test('AUTH_ALLOW_ANY_AUDIENCE=true is the explicit opt-out for the audience only', () => {
      expect(loadConfig(production({ AUTH_JWT_AUDIENCE: undefined, AUTH_ALLOW_ANY_AUDIENCE: 'true' })).auth).toMatchObject({
        issuer: 'https://login.example.com',
        audience: undefined,
      });
      expect(configError(production({ AUTH_ALLOW_ANY_AUDIENCE: 'true' }))).toMatch(
        /only one of AUTH_JWT_AUDIENCE and AUTH_ALLOW_ANY_AUDIENCE/,
      );
      expect(configError(production({ AUTH_JWT_AUDIENCE: undefined, AUTH_ALLOW_ANY_AUDIENCE: 'sure' }))).toContain(
        'AUTH_ALLOW_ANY_AUDIENCE',
      );
    });

    test('functions that authenticate no user, and other stages, need no issuer or audience', () => {
      const unchecked = { AUTH_JWT_ISSUER: undefined, AUTH_JWT_AUDIENCE: undefined };
      expect(loadConfig(production(unchecked), {}).production).toBe(true);
      expect(
        loadConfig(production({ ...unchecked, CALLBACK_TOKENS: 'callback-token-0123456789' }), { callbackTokens: true }).auth,
      ).toMatchObject({ issuer: undefined });
      expect(loadConfig(functionEnv({ STAGE: 'dev', ...unchecked })).auth).toMatchObject({
        issuer: undefined,
        audience: undefined,
      });
    });
  });

  test('lists and booleans are parsed', () => {
    const config = loadConfig(
      functionEnv({
        CORS_ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com',
        UPLOAD_ALLOWED_TYPES: 'MP4,mov',
        UPLOAD_ONE_TIME_SIGNATURE: 'true',
        UPLOAD_PROCEDURE: 'SimpleAesEncryptPreset',
        UPLOAD_TASK_NOTIFY_MODE: 'Change',
      }),
    );
    expect(config.http.corsAllowedOrigins).toEqual(['https://app.example.com', 'https://admin.example.com']);
    expect(config.upload.allowedTypes).toEqual(['mp4', 'mov']);
    expect(config.upload.oneTimeSignature).toBe(true);
    expect(config.upload.taskNotifyMode).toBe('Change');
  });

  test('the error message never repeats a secret value', () => {
    const message = configError(functionEnv({ VOD_SUB_APP_ID: 'x', AUTH_JWT_SECRET: 'tooShortSecretValue' }));
    expect(message).not.toContain('tooShortSecretValue');
  });
});
