import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import {
  decode,
  encodeOriginal,
  MAX_VALIDITY_SECONDS,
  sign,
  UploadSignatureError,
  verify,
  type SignInput,
} from '#lib/upload-signature-codec';

const SECRET_ID = 'AKIDtestSecretId0000000000000000000';
const SECRET_KEY = 'testSecretKeyTestSecretKey012345';
const NOW = new Date('2026-11-25T00:00:00Z');
const NOW_S = NOW.getTime() / 1000;

function expectParamError(fn: () => unknown, parameter: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UploadSignatureError);
    expect((error as UploadSignatureError).code).toBe('InvalidParameter');
    expect((error as UploadSignatureError).parameter).toBe(parameter);
    expect((error as Error).message).toContain(parameter);
    return;
  }
  throw new Error(`expected an error naming ${parameter}`);
}

const full: SignInput = {
  secretId: SECRET_ID,
  validitySeconds: 1800,
  classId: 3,
  procedure: 'LongVideoPreset',
  taskPriority: -10,
  taskNotifyMode: 'Change',
  sourceContext: 'uploadId=8c0f&userId=alice@example.com',
  oneTimeValid: 1,
  vodSubAppId: 1500000001,
  sessionContext: '{"uploadId":"8c0f","note":"a b+c/d?e=f&g"}',
  storageRegion: 'ap-chongqing',
};

describe('sign', () => {
  test('layout: Base64( HMAC-SHA1(key, original) || original )', () => {
    const signature = sign({ secretId: SECRET_ID }, SECRET_KEY, NOW);
    const bytes = Buffer.from(signature, 'base64');
    const original = bytes.subarray(20).toString('utf8');
    expect(original).toMatch(
      new RegExp(`^secretId=${SECRET_ID}&currentTimeStamp=${NOW_S}&expireTime=${NOW_S + 3600}&random=\\d+$`),
    );
    const expected = createHmac('sha1', SECRET_KEY).update(original).digest();
    expect(bytes.subarray(0, 20).equals(expected)).toBe(true);
  });

  test('an independent HMAC implementation (openssl) produces the same MAC', () => {
    const signature = sign(full, SECRET_KEY, NOW);
    const bytes = Buffer.from(signature, 'base64');
    const original = bytes.subarray(20);
    const hex = execFileSync('openssl', ['dgst', '-sha1', '-hmac', SECRET_KEY, '-r'], { input: original })
      .toString()
      .split(' ')[0];
    expect(hex).toBe(bytes.subarray(0, 20).toString('hex'));
  });

  test('values are URL-encoded and every optional parameter round-trips through decode', () => {
    const signature = sign(full, SECRET_KEY, NOW);
    const { params, original } = decode(signature);
    expect(original).toContain('sessionContext=%7B%22uploadId%22%3A%228c0f%22%2C%22note%22%3A%22a%20b%2Bc%2Fd%3Fe%3Df%26g%22%7D');
    expect(params).toEqual({
      secretId: SECRET_ID,
      currentTimeStamp: NOW_S,
      expireTime: NOW_S + 1800,
      random: params.random,
      classId: 3,
      procedure: 'LongVideoPreset',
      taskPriority: -10,
      taskNotifyMode: 'Change',
      sourceContext: 'uploadId=8c0f&userId=alice@example.com',
      oneTimeValid: 1,
      vodSubAppId: 1500000001,
      sessionContext: '{"uploadId":"8c0f","note":"a b+c/d?e=f&g"}',
      storageRegion: 'ap-chongqing',
    });
    expect(encodeOriginal(params)).toBe(original);
  });

  test('random is a fresh uint32 on every call, so signatures in the same second differ', () => {
    const randoms = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const { params } = decode(sign({ secretId: SECRET_ID }, SECRET_KEY, NOW));
      expect(Number.isInteger(params.random) && params.random >= 0 && params.random <= 0xffffffff).toBe(true);
      randoms.add(params.random);
    }
    expect(randoms.size).toBe(200);
  });

  test('non-ASCII context survives as UTF-8', () => {
    const { params } = decode(sign({ secretId: SECRET_ID, sourceContext: '上传 🎬 é' }, SECRET_KEY, NOW));
    expect(params.sourceContext).toBe('上传 🎬 é');
  });

  test.each([
    ['validitySeconds', { validitySeconds: MAX_VALIDITY_SECONDS + 1 }],
    ['validitySeconds', { validitySeconds: 0 }],
    ['validitySeconds', { validitySeconds: 1.5 }],
    ['expireTime', { expireTime: NOW_S }],
    ['expireTime', { expireTime: NOW_S + MAX_VALIDITY_SECONDS + 1 }],
    ['currentTimeStamp', { currentTimeStamp: NOW.getTime() }],
    ['currentTimeStamp', { currentTimeStamp: 1.5 }],
    ['classId', { classId: -1 }],
    ['classId', { classId: 2.5 }],
    ['taskPriority', { procedure: 'p', taskPriority: 11 }],
    ['taskPriority', { procedure: 'p', taskPriority: -11 }],
    ['taskPriority', { taskPriority: 1 }],
    ['taskNotifyMode', { procedure: 'p', taskNotifyMode: 'Always' as never }],
    ['taskNotifyMode', { taskNotifyMode: 'Finish' }],
    ['sessionContext', { sessionContext: 'x' }],
    ['sessionContext', { procedure: 'p', sessionContext: 'x'.repeat(1001) }],
    ['sourceContext', { sourceContext: 'x'.repeat(251) }],
    ['sourceContext', { sourceContext: '' }],
    ['oneTimeValid', { oneTimeValid: 2 as never }],
    ['vodSubAppId', { vodSubAppId: -5 }],
    ['storageRegion', { storageRegion: 'Guangzhou!' }],
    ['procedure', { procedure: '' }],
    ['secretId', { secretId: '' }],
  ] as [string, Partial<SignInput>][])('rejects %s out of range: %j', (parameter, patch) => {
    expectParamError(() => sign({ secretId: SECRET_ID, ...patch }, SECRET_KEY, NOW), parameter);
  });

  test('limits are inclusive at the documented maxima', () => {
    const params = decode(
      sign(
        {
          secretId: SECRET_ID,
          validitySeconds: MAX_VALIDITY_SECONDS,
          procedure: 'p',
          taskPriority: 10,
          sourceContext: '源'.repeat(250),
          sessionContext: 'x'.repeat(1000),
        },
        SECRET_KEY,
        NOW,
      ),
    ).params;
    expect(params.expireTime - params.currentTimeStamp).toBe(MAX_VALIDITY_SECONDS);
    expect([...(params.sourceContext ?? '')].length).toBe(250);
  });

  test('an empty secret key is refused', () => {
    expectParamError(() => sign({ secretId: SECRET_ID }, ''), 'secretKey');
  });
});

describe('verify', () => {
  test('accepts a fresh signature and returns its parameters', () => {
    const signature = sign(full, SECRET_KEY, NOW);
    expect(verify(signature, SECRET_KEY, NOW).procedure).toBe('LongVideoPreset');
    expect(verify(signature, (id) => (id === SECRET_ID ? SECRET_KEY : undefined), NOW).secretId).toBe(SECRET_ID);
  });

  test('rejects the wrong key, an unknown secretId, expiry and tampering, each with its code', () => {
    const signature = sign({ secretId: SECRET_ID, validitySeconds: 60 }, SECRET_KEY, NOW);
    const code = (fn: () => unknown) => {
      try {
        fn();
        return 'accepted';
      } catch (error) {
        return (error as UploadSignatureError).code;
      }
    };
    expect(code(() => verify(signature, 'another-key', NOW))).toBe('SignatureMismatch');
    expect(code(() => verify(signature, () => undefined, NOW))).toBe('UnknownSecretId');
    expect(code(() => verify(signature, SECRET_KEY, new Date(NOW.getTime() + 60_000)))).toBe('SignatureExpired');
    expect(code(() => verify(signature, SECRET_KEY, new Date(NOW.getTime() + 59_000)))).toBe('accepted');

    const bytes = Buffer.from(signature, 'base64');
    // One more second of validity, MAC unchanged.
    const tampered = Buffer.from(
      bytes
        .subarray(20)
        .toString()
        .replace(`expireTime=${NOW_S + 60}`, `expireTime=${NOW_S + 61}`),
    );
    const forged = Buffer.concat([bytes.subarray(0, 20), tampered]).toString('base64');
    expect(code(() => verify(forged, SECRET_KEY, NOW))).toBe('SignatureMismatch');
  });

  test('accepts a signature built by another implementation (form-encoded, other order)', () => {
    // As PHP's http_build_query writes it: spaces as '+', optional parameters before required ones.
    const original = `procedure=My+Flow&secretId=${SECRET_ID}&random=7&currentTimeStamp=${NOW_S}&expireTime=${NOW_S + 10}`;
    const macBytes = createHmac('sha1', SECRET_KEY).update(original).digest();
    const signature = Buffer.concat([macBytes, Buffer.from(original)]).toString('base64');
    expect(verify(signature, SECRET_KEY, NOW)).toMatchObject({ procedure: 'My Flow', random: 7 });
  });
});

describe('decode', () => {
  const wrap = (original: string) => Buffer.concat([Buffer.alloc(20), Buffer.from(original, 'utf8')]).toString('base64');
  const required = `secretId=a&currentTimeStamp=${NOW_S}&expireTime=${NOW_S + 10}&random=1`;

  test.each([
    ['not base64', 'not base64!!'],
    ['empty', ''],
    ['MAC only', Buffer.alloc(20).toString('base64')],
    ['not a query string', wrap('hello')],
    ['bad escape', wrap(`${required}&procedure=%E0%A4%A`)],
    ['duplicate parameter', wrap(`${required}&random=2`)],
  ])('rejects a malformed signature: %s', (_name, signature) => {
    expect(() => decode(signature)).toThrow(expect.objectContaining({ code: 'MalformedSignature' }));
  });

  test.each([
    ['random', `secretId=a&currentTimeStamp=${NOW_S}&expireTime=${NOW_S + 10}`],
    ['random', `secretId=a&currentTimeStamp=${NOW_S}&expireTime=${NOW_S + 10}&random=4294967296`],
    ['secretId', `currentTimeStamp=${NOW_S}&expireTime=${NOW_S + 10}&random=1`],
    ['currentTimeStamp', `secretId=a&currentTimeStamp=12.5&expireTime=${NOW_S + 10}&random=1`],
    ['expireTime', `secretId=a&currentTimeStamp=${NOW_S}&expireTime=${NOW_S + MAX_VALIDITY_SECONDS + 1}&random=1`],
    ['taskPriority', `${required}&taskPriority=11`],
    ['taskNotifyMode', `${required}&taskNotifyMode=Sometimes`],
    ['sourceContext', `${required}&sourceContext=${'x'.repeat(251)}`],
  ])('rejects a signature whose %s is missing or out of range', (parameter, original) => {
    expectParamError(() => decode(wrap(original)), parameter);
  });

  test("an optional parameter with an empty value is absent, as in Tencent's Node sample; a required one is not", () => {
    const original = `${required}&classId=&procedure=&taskPriority=&sourceContext=&sessionContext=`;
    const macBytes = createHmac('sha1', SECRET_KEY).update(original).digest();
    const params = verify(Buffer.concat([macBytes, Buffer.from(original)]).toString('base64'), SECRET_KEY, NOW);
    expect(params).toEqual({ secretId: 'a', currentTimeStamp: NOW_S, expireTime: NOW_S + 10, random: 1 });
    expectParamError(() => decode(wrap(`secretId=&currentTimeStamp=${NOW_S}&expireTime=${NOW_S + 10}&random=1`)), 'secretId');
    expectParamError(() => decode(wrap(`secretId=a&currentTimeStamp=${NOW_S}&expireTime=${NOW_S + 10}&random=`)), 'random');
  });

  test('sign never writes an empty value: an empty optional string is refused, an absent one left out', () => {
    expectParamError(() => sign({ secretId: SECRET_ID, procedure: '' }, SECRET_KEY, NOW), 'procedure');
    expectParamError(() => sign({ secretId: SECRET_ID, sourceContext: '' }, SECRET_KEY, NOW), 'sourceContext');
    const original = Buffer.from(
      sign({ secretId: SECRET_ID, sourceContext: undefined, procedure: undefined }, SECRET_KEY, NOW),
      'base64',
    )
      .subarray(20)
      .toString();
    expect(original.split('&').every((pair) => /^[a-zA-Z]+=.+$/.test(pair))).toBe(true);
    expect(original).not.toMatch(/procedure|sourceContext/);
  });

  test('ignores parameters it does not know, as VOD does', () => {
    expect(decode(wrap(`${required}&futureParam=1`)).params).not.toHaveProperty('futureParam');
  });

  test('property: decode(sign(x)) returns x for any valid input', () => {
    const input = fc.record(
      {
        validitySeconds: fc.integer({ min: 1, max: MAX_VALIDITY_SECONDS }),
        classId: fc.integer({ min: 0, max: 0xffffffff }),
        sourceContext: fc.string({ minLength: 1, maxLength: 250, unit: 'grapheme' }).filter((s) => [...s].length <= 250),
        oneTimeValid: fc.constantFrom(0 as const, 1 as const),
        vodSubAppId: fc.integer({ min: 0, max: 0xffffffff }),
        procedure: fc.string({ minLength: 1, maxLength: 128 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(input, (extra) => {
        const { validitySeconds, ...rest } = extra;
        const signature = sign({ secretId: SECRET_ID, validitySeconds, ...rest }, SECRET_KEY, NOW);
        const params = verify(signature, SECRET_KEY, NOW);
        expect(params).toMatchObject({ secretId: SECRET_ID, currentTimeStamp: NOW_S, ...rest });
        expect(params.expireTime).toBe(NOW_S + (validitySeconds ?? 3600));
      }),
      { numRuns: 300 },
    );
  });

  test('property: decode never throws anything but UploadSignatureError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.uint8Array().map((b) => Buffer.from(b).toString('base64')),
        ),
        (s) => {
          try {
            decode(s);
          } catch (error) {
            expect(error).toBeInstanceOf(UploadSignatureError);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
