import { SignJWT, type JWTPayload } from 'jose';
import { TEST_JWT_SECRET } from './env';

/**
 * An HS256 token as the app's login would issue it; override claims to make bad ones. `sub` may be any
 * JSON value (a hostile login could issue a number), `typ` sets the header's token type, `claims` adds
 * (or replaces, `sub` too) claims of the payload: a service token's scope.
 */
export async function userToken(
  sub: unknown,
  options: {
    issuer?: string;
    audience?: string;
    expiresIn?: string | number;
    notBefore?: string | number;
    secret?: string;
    typ?: string;
    claims?: Record<string, unknown>;
  } = {},
): Promise<string> {
  let jwt = new SignJWT({ sub, ...options.claims } as JWTPayload)
    .setProtectedHeader(options.typ === undefined ? { alg: 'HS256' } : { alg: 'HS256', typ: options.typ })
    .setIssuer(options.issuer ?? 'https://login.example.com')
    .setAudience(options.audience ?? 'vod-upload')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '10m');
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}
