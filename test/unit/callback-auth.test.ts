import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  CALLBACK_SIGN_MAX_SKEW_SECONDS,
  CALLBACK_SIGN_VALIDITY_SECONDS,
  callbackSign,
  callbackSignFields,
  tokenMatches,
  verifyCallbackSign,
} from '#lib/callback-auth';
import { parseVodEvent } from '#lib/vod-event';

/** The signed fixture was made with this key and T (Sign computed independently, with Python's hashlib). */
const SIGN_KEY = 'TestSignKey2026';
const T = 1764049200;
const SIGN = 'b50b90df9c7f03d270871f829944144e';
const signedBody = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'events', 'new-file-upload.signed.push.json'), 'utf8')) as Record<string, unknown>;

describe('callbackSign', () => {
  test('md5(SignKey + T) in lower-case hex: known answer', () => {
    expect(callbackSign(SIGN_KEY, T)).toBe(SIGN);
    expect(callbackSign(SIGN_KEY, String(T))).toBe(SIGN);
  });

  test('the signed fixture carries Sign and T as top-level body fields', () => {
    expect(signedBody).toMatchObject({ Sign: SIGN, T });
    expect(callbackSignFields(signedBody)).toEqual({ sign: SIGN, t: String(T) });
    // …and they do not get in the way of parsing the event.
    expect(parseVodEvent(signedBody).kind).toBe('NewFileUpload');
  });
});

describe('callbackSignFields', () => {
  test('lower-case spelling, then the query string', () => {
    expect(callbackSignFields({ sign: 'abc', t: 5 })).toEqual({ sign: 'abc', t: '5' });
    expect(callbackSignFields({ EventType: 'X' }, { Sign: 'q', T: '7' })).toEqual({ sign: 'q', t: '7' });
    expect(callbackSignFields({ Sign: 'body', T: 1 }, { Sign: 'query', T: '2' })).toEqual({ sign: 'body', t: '1' });
  });

  test('nothing usable → both absent', () => {
    expect(callbackSignFields(null)).toEqual({ sign: undefined, t: undefined });
    expect(callbackSignFields([1, 2])).toEqual({ sign: undefined, t: undefined });
    expect(callbackSignFields({ Sign: '', T: 1.5 })).toEqual({ sign: undefined, t: undefined });
    expect(callbackSignFields({ Sign: { x: 1 }, T: [] })).toEqual({ sign: undefined, t: undefined });
  });
});

describe('verifyCallbackSign', () => {
  const now = T - CALLBACK_SIGN_VALIDITY_SECONDS; // VOD signed it "now", valid for 10 minutes

  test('a genuine callback', () => {
    expect(verifyCallbackSign(callbackSignFields(signedBody), [SIGN_KEY], now)).toBe('ok');
    expect(verifyCallbackSign({ sign: SIGN, t: T }, [SIGN_KEY], now)).toBe('ok');
    expect(verifyCallbackSign({ sign: SIGN.toUpperCase(), t: T }, [SIGN_KEY], now)).toBe('ok');
  });

  test('key rotation: any accepted key will do, empty keys never', () => {
    expect(verifyCallbackSign({ sign: SIGN, t: T }, ['OldKey1', SIGN_KEY], now)).toBe('ok');
    expect(verifyCallbackSign({ sign: SIGN, t: T }, [SIGN_KEY, 'NewKey2'], now)).toBe('ok');
    expect(verifyCallbackSign({ sign: callbackSign('', T), t: T }, [''], now)).toBe('mismatch');
    expect(verifyCallbackSign({ sign: SIGN, t: T }, [], now)).toBe('mismatch');
  });

  test('missing Sign or T', () => {
    expect(verifyCallbackSign({}, [SIGN_KEY], now)).toBe('missing');
    expect(verifyCallbackSign({ sign: SIGN }, [SIGN_KEY], now)).toBe('missing');
    expect(verifyCallbackSign({ t: T }, [SIGN_KEY], now)).toBe('missing');
    expect(verifyCallbackSign({ sign: '', t: T }, [SIGN_KEY], now)).toBe('missing');
  });

  test('T is an expiry: valid up to and including T, expired after', () => {
    expect(verifyCallbackSign({ sign: SIGN, t: T }, [SIGN_KEY], T)).toBe('ok');
    expect(verifyCallbackSign({ sign: SIGN, t: T }, [SIGN_KEY], T + 1)).toBe('expired');
  });

  test('a T further ahead than VOD ever sets it is rejected', () => {
    const limit = CALLBACK_SIGN_VALIDITY_SECONDS + CALLBACK_SIGN_MAX_SKEW_SECONDS;
    expect(verifyCallbackSign({ sign: SIGN, t: T }, [SIGN_KEY], T - limit)).toBe('ok');
    expect(verifyCallbackSign({ sign: SIGN, t: T }, [SIGN_KEY], T - limit - 1)).toBe('future');
    const farFuture = 99999999999;
    expect(verifyCallbackSign({ sign: callbackSign(SIGN_KEY, farFuture), t: farFuture }, [SIGN_KEY], now)).toBe('future');
  });

  test('forged, edited or malformed', () => {
    expect(verifyCallbackSign({ sign: SIGN, t: T }, ['WrongKey'], now)).toBe('mismatch');
    expect(verifyCallbackSign({ sign: SIGN, t: T + 60 }, [SIGN_KEY], now)).toBe('mismatch'); // T moved to extend validity
    expect(verifyCallbackSign({ sign: callbackSign(SIGN_KEY, T), t: `${T}.0` }, [SIGN_KEY], now)).toBe('mismatch');
    expect(verifyCallbackSign({ sign: 'not-hex', t: T }, [SIGN_KEY], now)).toBe('mismatch');
    expect(verifyCallbackSign({ sign: `${SIGN}00`, t: T }, [SIGN_KEY], now)).toBe('mismatch');
    expect(verifyCallbackSign({ sign: SIGN, t: -T }, [SIGN_KEY], now)).toBe('mismatch');
  });

  test('property: only the right key, within the window, verifies', () => {
    const key = fc.stringMatching(/^[A-Za-z0-9]{1,32}$/);
    fc.assert(
      fc.property(key, key, fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }), fc.integer({ min: -7200, max: 7200 }), (signKey, otherKey, t, offset) => {
        const nowSeconds = t - offset;
        const sign = callbackSign(signKey, t);
        const inWindow = t >= nowSeconds && t <= nowSeconds + CALLBACK_SIGN_VALIDITY_SECONDS + CALLBACK_SIGN_MAX_SKEW_SECONDS;
        expect(verifyCallbackSign({ sign, t }, [signKey], nowSeconds)).toBe(inWindow ? 'ok' : t < nowSeconds ? 'expired' : 'future');
        if (inWindow && otherKey !== signKey) expect(verifyCallbackSign({ sign, t }, [otherKey], nowSeconds)).toBe('mismatch');
      }),
    );
  });
});

describe('tokenMatches', () => {
  test('one of the accepted tokens (rotation)', () => {
    expect(tokenMatches('s3cret-new', ['s3cret-old', 's3cret-new'])).toBe(true);
    expect(tokenMatches('s3cret-old', ['s3cret-old', 's3cret-new'])).toBe(true);
  });

  test('anything else', () => {
    expect(tokenMatches('s3cret', ['s3cret-old'])).toBe(false); // prefix
    expect(tokenMatches('s3cret-old-and-more', ['s3cret-old'])).toBe(false); // extension
    expect(tokenMatches('S3CRET-OLD', ['s3cret-old'])).toBe(false); // case
    expect(tokenMatches(undefined, ['s3cret'])).toBe(false);
    expect(tokenMatches('', [''])).toBe(false); // an unset secret is not a secret
    expect(tokenMatches('x', [])).toBe(false);
  });

  test('property: equals string equality (for non-empty tokens)', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string(), { maxLength: 4 }), (presented, accepted) => {
        expect(tokenMatches(presented, accepted)).toBe(presented !== '' && accepted.includes(presented));
      }),
    );
  });
});
