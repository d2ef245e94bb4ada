import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  CALLBACK_SIGN_MAX_SKEW_SECONDS,
  CALLBACK_SIGN_VALIDITY_SECONDS,
  callbackSign,
  callbackSignFields,
  locateCallbackSign,
  tokenMatches,
  verifyCallbackSign,
} from '#lib/callback-auth';
import { parseVodEvent } from '#lib/vod-event';

/** The signed fixture was made with this key and T (Sign computed independently, with Python's hashlib). */
const SIGN_KEY = 'TestSignKey2026';
const T = 1764049200;
const SIGN = 'b50b90df9c7f03d270871f829944144e';
const signedBody = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'events', 'new-file-upload.signed.push.json'), 'utf8'),
) as Record<string, unknown>;

describe('callbackSign', () => {
  test('md5(SignKey + T) in lower-case hex: known answer', () => {
    expect(callbackSign(SIGN_KEY, T)).toBe(SIGN);
    expect(callbackSign(SIGN_KEY, String(T))).toBe(SIGN);
  });

  test('the signed fixture carries Sign and T as top-level body fields', () => {
    expect(signedBody).toMatchObject({ Sign: SIGN, T });
    expect(callbackSignFields(signedBody)).toEqual({ sign: SIGN, t: String(T), foundAt: 'body Sign+T' });
    // …and they do not get in the way of parsing the event.
    expect(parseVodEvent(signedBody).kind).toBe('NewFileUpload');
  });
});

describe('callbackSignFields: every place VOD may put Sign and T (vod-protocol/events.md §4.5)', () => {
  test('top-level body fields in any case; a JSON number T keeps its decimal text', () => {
    expect(callbackSignFields({ Sign: 'abc', T: 5 })).toEqual({ sign: 'abc', t: '5', foundAt: 'body Sign+T' });
    expect(callbackSignFields({ sign: 'abc', t: '5' })).toEqual({ sign: 'abc', t: '5', foundAt: 'body sign+t' });
    expect(callbackSignFields({ SIGN: 'abc', t: 5 })).toEqual({ sign: 'abc', t: '5', foundAt: 'body SIGN+t' });
    // The exact spellings win over other cases.
    expect(callbackSignFields({ sIgN: 'other', Sign: 'abc', T: 5 })).toMatchObject({ sign: 'abc' });
  });

  test('the query string, in any case', () => {
    expect(callbackSignFields({ EventType: 'X' }, { Sign: 'q', T: '7' })).toEqual({ sign: 'q', t: '7', foundAt: 'query Sign+T' });
    expect(callbackSignFields({ EventType: 'X' }, { sign: 'q', t: '7' })).toEqual({ sign: 'q', t: '7', foundAt: 'query sign+t' });
    expect(callbackSignFields(undefined, { SIGN: 'q', T: '7' })).toEqual({ sign: 'q', t: '7', foundAt: 'query SIGN+T' });
  });

  test.each([
    ['sign', 't'],
    ['x-vod-sign', 'x-vod-t'],
    ['x-sign', 'x-t'],
  ])('request headers %s / %s (names arrive lower-cased from lib/http)', (signHeader, tHeader) => {
    expect(
      callbackSignFields({ EventType: 'X' }, {}, { [signHeader]: 'h', [tHeader]: '9', 'content-type': 'text/plain' }),
    ).toEqual({
      sign: 'h',
      t: '9',
      foundAt: `header ${signHeader}+${tHeader}`,
    });
  });

  test('the first place carrying BOTH is used: body, query, then the headers in order', () => {
    const headers = { sign: 'h1', t: '1', 'x-vod-sign': 'h2', 'x-vod-t': '2', 'x-sign': 'h3', 'x-t': '3' };
    expect(callbackSignFields({ Sign: 'b', T: 0 }, { Sign: 'q', T: '4' }, headers)).toMatchObject({ sign: 'b', t: '0' });
    expect(callbackSignFields({}, { Sign: 'q', T: '4' }, headers)).toMatchObject({ sign: 'q', t: '4' });
    expect(callbackSignFields({}, {}, headers)).toMatchObject({ sign: 'h1', t: '1' });
    expect(callbackSignFields({}, {}, { 'x-vod-sign': 'h2', 'x-vod-t': '2', 'x-sign': 'h3', 'x-t': '3' })).toMatchObject({
      sign: 'h2',
      t: '2',
    });
    // Half a pair is skipped, not combined with another place's half.
    expect(callbackSignFields({ Sign: 'b' }, { T: '4' }, { 'x-sign': 'h3', 'x-t': '3' })).toEqual({
      sign: 'h3',
      t: '3',
      foundAt: 'header x-sign+x-t',
    });
    expect(callbackSignFields({ Sign: 'b' }, { t: '4' }, { 'x-vod-sign': 'h2', t: '1' })).toEqual({
      sign: undefined,
      t: undefined,
      foundAt: undefined,
    });
  });

  test('the partial halves are reported, by name', () => {
    expect(locateCallbackSign({ Sign: 'b' }, { t: '4' }, { 'x-vod-t': '2' })).toEqual({
      partial: ['body Sign', 'query t', 'header x-vod-t'],
    });
  });

  test('nothing usable → both absent', () => {
    const none = { sign: undefined, t: undefined, foundAt: undefined };
    expect(callbackSignFields(null)).toEqual(none);
    expect(callbackSignFields([1, 2])).toEqual(none);
    expect(callbackSignFields({ Sign: '', T: 1.5 })).toEqual(none);
    expect(callbackSignFields({ Sign: { x: 1 }, T: [] })).toEqual(none);
    // Headers other than the listed ones do not count.
    expect(callbackSignFields({}, {}, { 'x-signature': 'h', 'x-timestamp': '1' })).toEqual(none);
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
      fc.property(
        key,
        key,
        fc.integer({ min: 1_600_000_000, max: 2_000_000_000 }),
        fc.integer({ min: -7200, max: 7200 }),
        (signKey, otherKey, t, offset) => {
          const nowSeconds = t - offset;
          const sign = callbackSign(signKey, t);
          const inWindow = t >= nowSeconds && t <= nowSeconds + CALLBACK_SIGN_VALIDITY_SECONDS + CALLBACK_SIGN_MAX_SKEW_SECONDS;
          expect(verifyCallbackSign({ sign, t }, [signKey], nowSeconds)).toBe(
            inWindow ? 'ok' : t < nowSeconds ? 'expired' : 'future',
          );
          if (inWindow && otherKey !== signKey) expect(verifyCallbackSign({ sign, t }, [otherKey], nowSeconds)).toBe('mismatch');
        },
      ),
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
