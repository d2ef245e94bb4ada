/** COS request authentication: the `q-sign-algorithm=sha1` signature, and for VOD's temporary credentials their token, expiry and scope. */
import type { IncomingMessage } from 'node:http';
import type { EmulatorContext } from '../context.ts';
import { unixSeconds } from '../times.ts';
import type { TempCredential } from '../state.ts';
import { CosError, header } from './messages.ts';
import type { CosTarget } from './messages.ts';
import { computeCosSignature, parseCosAuthorization, parseKeyTime, signaturesEqual } from './signature.ts';

interface Authenticated {
  temp?: TempCredential;
  bucket: string;
}

/** Verifies the request signature; returns the credential and the bucket it is for. */
export function authenticate(
  ctx: EmulatorContext,
  req: IncomingMessage,
  target: CosTarget,
  query: [string, string][],
): Authenticated {
  let authString = header(req, 'authorization');
  let token = header(req, 'x-cos-security-token');
  if (!authString) {
    // Pre-signed URL: the same fields as query parameters.
    const q = new Map(query);
    if (q.has('q-sign-algorithm')) {
      authString = query
        .filter(([name]) => name.startsWith('q-'))
        .map(([n, v]) => `${n}=${v}`)
        .join('&');
      token ??= q.get('x-cos-security-token');
    }
  }
  if (!authString) throw new CosError(403, 'AccessDenied', 'Access Denied. The request carries no Authorization.');
  const auth = parseCosAuthorization(authString);
  if (!auth) throw new CosError(403, 'AccessDenied', 'The Authorization header is not a valid COS signature.');
  if (auth.algorithm !== 'sha1')
    throw new CosError(400, 'InvalidArgument', `q-sign-algorithm ${auth.algorithm} is not supported; use sha1.`);

  const nowSeconds = unixSeconds(ctx.now());
  const temp = ctx.store.doc.tempCredentials[auth.ak];
  const permanent = ctx.options.credentials.find((c) => c.secretId === auth.ak && !c.token);
  if (!temp && !permanent)
    throw new CosError(403, 'InvalidAccessKeyId', 'The access key Id you provided does not exist in our records.');
  if (temp) {
    if (token !== temp.token) {
      throw new CosError(
        403,
        'InvalidAccessKeyId',
        'The x-cos-security-token is missing or does not belong to this temporary credential.',
      );
    }
    if (nowSeconds >= temp.expiredTime) throw new CosError(403, 'AccessDenied', 'The temporary credential has expired.');
  }
  const signTime = parseKeyTime(auth.signTime);
  if (!signTime || !parseKeyTime(auth.keyTime))
    throw new CosError(403, 'AccessDenied', 'q-sign-time / q-key-time must be "<start>;<end>".');
  if (nowSeconds > signTime.end) throw new CosError(403, 'AccessDenied', 'Request has expired');
  if (nowSeconds < signTime.start - 900)
    throw new CosError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the server time is too large.');

  const secretKey = temp ? temp.secretKey : permanent!.secretKey;
  const expected = computeCosSignature(
    auth,
    { method: req.method ?? 'GET', pathname: `/${target.key}`, query, headers: req.headers },
    secretKey,
  );
  if (!signaturesEqual(expected, auth.signature)) {
    throw new CosError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }

  const bucket = target.bucket ?? temp?.bucket;
  if (!bucket)
    throw new CosError(
      400,
      'InvalidURI',
      'The request does not name a bucket (use the bucket host name or the /cos/<bucket>/<region>/ prefix).',
    );
  if (temp) {
    const allowed = temp.bucket === bucket && (target.key === '' || temp.keys.includes(target.key));
    if (!allowed)
      throw new CosError(403, 'AccessDenied', 'Access Denied. The temporary credential does not cover this bucket or key.');
  }
  return { temp, bucket };
}
