/** A complete, valid function environment for tests; override what a test is about. */
export const TEST_SECRET_ID = 'AKIDlocalTestSecretId00000000000000';
export const TEST_SECRET_KEY = 'localTestSecretKey-0123456789abcdef';
export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-long-enough-0123456789';

export function functionEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    STAGE: 'test',
    LOG_LEVEL: 'warn',
    VOD_SECRET_ID: TEST_SECRET_ID,
    VOD_SECRET_KEY: TEST_SECRET_KEY,
    VOD_SUB_APP_ID: '1500000001',
    AUTH_MODE: 'jwt',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    AUTH_JWT_ISSUER: 'https://login.example.com',
    AUTH_JWT_AUDIENCE: 'vod-upload',
    ...overrides,
  };
}
