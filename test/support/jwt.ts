import { SignJWT } from 'jose';
import { TEST_JWT_SECRET } from './env';

/** An HS256 token as the app's login would issue it; override claims to make bad ones. */
export async function userToken(
  sub: string,
  options: { issuer?: string; audience?: string; expiresIn?: string | number; notBefore?: string | number; secret?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(options.issuer ?? 'https://login.example.com')
    .setAudience(options.audience ?? 'vod-upload')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '10m');
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}
