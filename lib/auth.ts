/**
 * Who is calling: an app user, identified by a JWT the app's own login issued (HS256 shared secret, or
 * RS256/ES256 keys from a JWKS URL), with issuer, audience, token-type and clock-skew checks. `AUTH_MODE=none`
 * is a local-only escape hatch (refused in production by config) that trusts an `X-User-Id` header.
 * A service token (the app's own backend) is such a JWT whose `AUTH_ADMIN_CLAIM` claim holds the
 * configured value: `admin` is true, and the library endpoints let it reach every user's uploads.
 */
import { createSecretKey } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey, type JWTVerifyResult } from 'jose';
import type { Config } from '#lib/config';
import { ServiceUnavailableError, UnauthorizedError } from '#lib/errors';
import type { Logger } from '#lib/log';

export interface AppUser {
  userId: string;
  /** A service token (AUTH_ADMIN_CLAIM; `X-User-Role: admin` with AUTH_MODE=none): may act for any user. */
  admin: boolean;
}

export type Authenticate = (headers: Record<string, string>) => Promise<AppUser>;

const MAX_USER_ID_LENGTH = 128;
const LOCAL_USER = 'local-user';
// Characters that do not show what they are: controls (C0, DEL, C1 such as U+0085 NEL), format characters
// (zero-width U+200B, bidi overrides such as U+202E), other invisibles (U+3164 Hangul filler, variation
// selectors) and every separator but the ASCII space (U+00A0, U+2028, U+3000...).
const HIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]|(?! )\p{Z}/u;

const notAUserId = (source: string, reason: string) => new UnauthorizedError(`${source} is not a usable user id: ${reason}`);

/**
 * The user id `value` names, or a 401 saying why it is not one (`source` says where it came from). The id
 * is stored, compared, logged and put into VOD's sourceContext, so it must be what it looks like: a string
 * (a number is refused, not read as its digits: the identity provider could give 123 and "123" to two
 * users), 1-128 characters (code points), no hidden character, no space at either end, and already in
 * NFC. Not normalized here: that would make two distinct ids of the identity provider one user.
 */
function appUserId(value: unknown, source: string): string {
  if (typeof value !== 'string')
    throw notAUserId(source, typeof value === 'number' ? 'it must be a string, not a number' : 'it must be a string');
  if (/\p{Cs}/u.test(value)) throw notAUserId(source, 'it holds a lone surrogate (not valid Unicode)');
  if (HIDDEN_CHARACTER.test(value))
    throw notAUserId(source, 'it holds a control, format, invisible or separator character (only the space is allowed)');
  if (/^ *$/.test(value)) throw notAUserId(source, 'it is empty or blank');
  if ([...value].length > MAX_USER_ID_LENGTH) throw notAUserId(source, `it must be 1-${MAX_USER_ID_LENGTH} characters`);
  if (value.startsWith(' ') || value.endsWith(' ')) throw notAUserId(source, 'it must not start or end with a space');
  if (value.normalize('NFC') !== value) throw notAUserId(source, 'it must be in Unicode normalization form NFC');
  return value;
}

// Access tokens only: no `typ`, the plain `JWT` most logins write, or RFC 9068's `at+jwt` (each with or
// without `application/`). A refresh token (`refresh+jwt`) or any other token the identity provider signs
// with the same key is not a session.
const ACCESS_TOKEN_TYPE = /^(application\/)?(at\+)?jwt$/i;

function bearerToken(headers: Record<string, string>): string {
  const header = headers.authorization;
  if (header === undefined) throw new UnauthorizedError('Missing Authorization header; send "Authorization: Bearer <token>"');
  const match = /^Bearer[ ]+([A-Za-z0-9_\-.=+/]+)\s*$/i.exec(header);
  if (!match) throw new UnauthorizedError('The Authorization header must be "Bearer <token>"');
  return match[1]!;
}

function describeJwtFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The token's ${error.claim} claim is not accepted`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm that is not accepted';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is not valid';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The token was signed by an unknown key';
  return 'The token is not valid';
}

export function createAuthenticator(config: Config, log: Logger): Authenticate {
  const auth = config.auth;
  if (auth.mode === 'none') {
    log.warn('AUTH_MODE=none: every caller is trusted; use only on a local machine', { stage: config.stage });
    return async (headers) => {
      const claimed = headers['x-user-id'];
      const admin = headers['x-user-role'] === 'admin';
      if (claimed === undefined) return { userId: LOCAL_USER, admin };
      return { userId: appUserId(claimed, 'X-User-Id'), admin };
    };
  }

  // Imported once: given the raw bytes, jose would import the key again on every request.
  const secret = auth.secret === undefined ? undefined : createSecretKey(new TextEncoder().encode(auth.secret));
  // The JWKS is fetched lazily and cached across warm invocations; unknown `kid`s trigger a refetch.
  const jwks: JWTVerifyGetKey | undefined =
    auth.jwksUrl === undefined ? undefined : createRemoteJWKSet(new URL(auth.jwksUrl), { cooldownDuration: 30_000 });
  const algorithms = secret ? ['HS256'] : ['RS256', 'ES256'];
  const verifyOptions = {
    algorithms,
    issuer: auth.issuer,
    audience: auth.audience,
    clockTolerance: auth.clockSkewSeconds,
    requiredClaims: ['exp'],
  };

  return async (headers) => {
    const token = bearerToken(headers);
    let verified: JWTVerifyResult;
    try {
      verified = secret ? await jwtVerify(token, secret, verifyOptions) : await jwtVerify(token, jwks!, verifyOptions);
    } catch (error) {
      // The key set could not be had: a timeout, a network error, a non-200 answer (jose throws the base
      // JOSEError for that) or a malformed key set. None of it is the caller's fault.
      const keySetUnavailable =
        jwks !== undefined &&
        (error instanceof joseErrors.JWKSTimeout ||
          error instanceof joseErrors.JWKSInvalid ||
          !(error instanceof joseErrors.JOSEError) ||
          Object.getPrototypeOf(error) === joseErrors.JOSEError.prototype);
      if (keySetUnavailable) {
        log.error('JWKS unavailable', { error });
        throw new ServiceUnavailableError('The identity provider could not be reached; try again shortly');
      }
      if (error instanceof joseErrors.JOSEError) throw new UnauthorizedError(describeJwtFailure(error));
      throw error;
    }
    const { typ } = verified.protectedHeader;
    if (typ !== undefined && (typeof typ !== 'string' || !ACCESS_TOKEN_TYPE.test(typ))) {
      throw new UnauthorizedError('The token is not an access token (its "typ" header is not JWT or at+jwt)');
    }
    return {
      userId: appUserId(verified.payload[auth.userClaim], `The token's "${auth.userClaim}" claim`),
      admin: auth.adminClaim !== undefined && holdsClaimValue(verified.payload[auth.adminClaim.name], auth.adminClaim.value),
    };
  };
}

/**
 * Whether a claim holds the service value: it is that string, a space-separated list of words one of
 * which is it (OAuth's `scope`), or an array with that string as an element. Exact, case-sensitive
 * words only: `vod-upload:admins`, `VOD-UPLOAD:ADMIN`, a comma-separated list, a number or an object
 * never count, so a user token with a look-alike claim stays a user token.
 */
export function holdsClaimValue(claim: unknown, value: string): boolean {
  if (typeof claim === 'string') return claim === value || claim.split(' ').includes(value);
  if (Array.isArray(claim)) return claim.some((item) => item === value);
  return false;
}
