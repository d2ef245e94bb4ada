import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  HOTLINK_CLOCK_SKEW_SECONDS,
  HotlinkError,
  hotlinkDir,
  newHotlinkId,
  signPlaybackUrl,
  verifyPlaybackUrl,
} from '#lib/playback-url-signer';

/**
 * Tencent's worked examples (VOD doc 266/33986 "Key Hotlink Protection", English copy in
 * tencentyun/intlcloud-documents; the Chinese page 266/14047 uses the same values). Their expected
 * signatures were also recomputed independently with coreutils `md5sum`.
 */
const DOC = {
  key: '24FEQmTzro4V5u3D5epW',
  url: 'http://example.vod2.myqcloud.com/dir1/dir2/myVideo.mp4',
  expiresAt: 1517400000, // 2018-01-31 20:00 (UTC+8) = 0x5a71afc0
  us: '72d4cd1101',
};

describe('signPlaybackUrl: Tencent known answers', () => {
  test('example 1: expiry only', () => {
    expect(signPlaybackUrl(DOC.url, { key: DOC.key, expiresAt: DOC.expiresAt, us: DOC.us })).toBe(
      'http://example.vod2.myqcloud.com/dir1/dir2/myVideo.mp4?t=5a71afc0&us=72d4cd1101&sign=3d8488faeb37d52d6bf63b63c1b171c3',
    );
  });

  test('example 2: at most three client IPs (rlimit)', () => {
    expect(signPlaybackUrl(DOC.url, { key: DOC.key, expiresAt: DOC.expiresAt, us: DOC.us, rlimit: 3 })).toBe(
      'http://example.vod2.myqcloud.com/dir1/dir2/myVideo.mp4?t=5a71afc0&rlimit=3&us=72d4cd1101&sign=c5214f0d5961b13acd558b4957c4dfc5',
    );
  });

  test('example 3: five-minute preview (exper)', () => {
    expect(signPlaybackUrl(DOC.url, { key: DOC.key, expiresAt: DOC.expiresAt, us: DOC.us, exper: 300 })).toBe(
      'http://example.vod2.myqcloud.com/dir1/dir2/myVideo.mp4?t=5a71afc0&exper=300&us=72d4cd1101&sign=547d98c4b91e81b5ea55c95cef63223f',
    );
  });

  test('the documented URLs verify until 300 s after t, then expire', () => {
    const signed =
      'http://example.vod2.myqcloud.com/dir1/dir2/myVideo.mp4?t=5a71afc0&rlimit=3&us=72d4cd1101&sign=c5214f0d5961b13acd558b4957c4dfc5';
    expect(verifyPlaybackUrl(signed, DOC.key, DOC.expiresAt - 3600)).toBe('ok');
    expect(verifyPlaybackUrl(signed, DOC.key, DOC.expiresAt + HOTLINK_CLOCK_SKEW_SECONDS)).toBe('ok');
    expect(verifyPlaybackUrl(signed, DOC.key, DOC.expiresAt + HOTLINK_CLOCK_SKEW_SECONDS + 1)).toBe('expired');
    expect(verifyPlaybackUrl(signed, 'AnotherKey123', DOC.expiresAt)).toBe('mismatch');
  });
});

describe('signPlaybackUrl: parameters and formatting', () => {
  const base = { key: DOC.key, expiresAt: DOC.expiresAt };
  const md5 = (s: string) => createHash('md5').update(s).digest('hex');

  test('no optional parameter: md5(KEY + Dir + t), and t is lower-case hex', () => {
    expect(signPlaybackUrl(DOC.url, base)).toBe(`${DOC.url}?t=5a71afc0&sign=${md5(`${DOC.key}/dir1/dir2/5a71afc0`)}`);
    expect(signPlaybackUrl('https://h.example.com/v.mp4', { ...base, expiresAt: 0xabcdef12 })).toMatch(/\?t=abcdef12&sign=/);
  });

  test('every parameter: formula order for the signature, query order t, exper, rlimit, us, lists, sign', () => {
    const url = signPlaybackUrl(DOC.url, {
      ...base,
      us: 'u1',
      rlimit: 2,
      exper: 60,
      whref: ['*.example.com', 'app.example.org'],
      bkref: 'bad.example.net',
      whreg: ['CHN', 'SGP'],
      bkreg: 'USA',
    });
    const sign = md5(`${DOC.key}/dir1/dir2/5a71afc0602u1*.example.com,app.example.orgbad.example.netCHN,SGPUSA`);
    expect(url).toBe(
      `${DOC.url}?t=5a71afc0&exper=60&rlimit=2&us=u1&whref=*.example.com,app.example.org&bkref=bad.example.net&whreg=CHN,SGP&bkreg=USA&sign=${sign}`,
    );
    expect(verifyPlaybackUrl(url, DOC.key, DOC.expiresAt)).toBe('ok');
  });

  test('exper 0 means the whole video and is left out', () => {
    expect(signPlaybackUrl(DOC.url, { ...base, exper: 0 })).toBe(signPlaybackUrl(DOC.url, base));
  });

  test('Dir: the path without the file name, with leading and trailing "/"', () => {
    expect(hotlinkDir('/dir1/dir2/myVideo.mp4')).toBe('/dir1/dir2/');
    expect(hotlinkDir('/myVideo.mp4')).toBe('/');
    expect(hotlinkDir('/dir/')).toBe('/dir/');
    expect(hotlinkDir('dir/v.mp4')).toBe('/dir/');
    // A URL with no path signs Dir "/".
    expect(signPlaybackUrl('https://h.example.com', base)).toBe(
      `https://h.example.com/?t=5a71afc0&sign=${md5(`${DOC.key}/5a71afc0`)}`,
    );
  });

  test('one signature covers every file in the directory (HLS playlist and its segments)', () => {
    const playlist = signPlaybackUrl('https://h.example.com/1500/abc/adp.10/master.m3u8', { ...base, us: 'x1' });
    const query = playlist.slice(playlist.indexOf('?'));
    expect(verifyPlaybackUrl(`https://h.example.com/1500/abc/adp.10/segment-0001.ts${query}`, DOC.key, DOC.expiresAt)).toBe('ok');
    expect(verifyPlaybackUrl(`https://h.example.com/1500/abc/other/segment-0001.ts${query}`, DOC.key, DOC.expiresAt)).toBe(
      'mismatch',
    );
  });

  test('an existing query is kept in front; earlier hotlink parameters are replaced, not stacked', () => {
    const once = signPlaybackUrl(`${DOC.url}?download=1&x=a%20b`, { ...base, us: DOC.us });
    expect(once).toBe(`${DOC.url}?download=1&x=a%20b&t=5a71afc0&us=72d4cd1101&sign=3d8488faeb37d52d6bf63b63c1b171c3`);
    const again = signPlaybackUrl(once, { ...base, expiresAt: DOC.expiresAt + 60, rlimit: 3 });
    expect(again).toMatch(
      /^http:\/\/example\.vod2\.myqcloud\.com\/dir1\/dir2\/myVideo\.mp4\?download=1&x=a%20b&t=5a71affc&rlimit=3&sign=[0-9a-f]{32}$/,
    );
    expect(verifyPlaybackUrl(again, DOC.key, DOC.expiresAt)).toBe('ok');
  });

  test('a path-only URL (a request target) signs and verifies the same way', () => {
    const signed = signPlaybackUrl('/dir1/dir2/myVideo.mp4', { ...base, us: DOC.us });
    expect(signed).toBe('/dir1/dir2/myVideo.mp4?t=5a71afc0&us=72d4cd1101&sign=3d8488faeb37d52d6bf63b63c1b171c3');
    expect(verifyPlaybackUrl(signed, DOC.key, DOC.expiresAt)).toBe('ok');
  });

  test('the authority and a fragment are kept as written', () => {
    expect(signPlaybackUrl('https://H.Example.com:8443/a/v.mp4#t=10', base)).toMatch(
      /^https:\/\/H\.Example\.com:8443\/a\/v\.mp4\?t=5a71afc0&sign=[0-9a-f]{32}#t=10$/,
    );
  });

  test('bad input is refused with a message saying what is wrong', () => {
    const bad: Array<[string, Parameters<typeof signPlaybackUrl>[1], RegExp]> = [
      [DOC.url, { ...base, key: 'short' }, /8-20 letters or digits/],
      [DOC.url, { ...base, key: 'has-a-dash-in-it' }, /8-20 letters or digits/],
      [DOC.url, { ...base, expiresAt: 1.5 }, /expiresAt/],
      [DOC.url, { ...base, expiresAt: -1 }, /expiresAt/],
      [DOC.url, { ...base, rlimit: 10 }, /rlimit must be an integer from 1 to 9/],
      [DOC.url, { ...base, rlimit: 0 }, /rlimit/],
      [DOC.url, { ...base, exper: -5 }, /exper/],
      [DOC.url, { ...base, us: 'a b' }, /^us must be/],
      [DOC.url, { ...base, us: '' }, /^us must be/],
      [DOC.url, { ...base, whreg: ['CN'] }, /three-letter region code/],
      [DOC.url, { ...base, whref: 'https://a.com' }, /no http:\/\/ prefix/],
      [DOC.url, { ...base, bkref: Array.from({ length: 11 }, (_, i) => `d${i}.com`) }, /at most 10/],
      ['myVideo.mp4', base, /not an absolute URL or path/],
      ['http://', base, /Invalid URL/],
    ];
    for (const [url, options, message] of bad) {
      expect(() => signPlaybackUrl(url, options)).toThrow(message);
    }
    expect(() => signPlaybackUrl(DOC.url, { ...base, key: 'x' })).toThrow(HotlinkError);
  });
});

describe('verifyPlaybackUrl', () => {
  const key = DOC.key;
  const signed = signPlaybackUrl(DOC.url, { key, expiresAt: DOC.expiresAt, us: DOC.us, rlimit: 3 });

  test('missing: no signature or no t', () => {
    expect(verifyPlaybackUrl(DOC.url, key, 0)).toBe('missing');
    expect(verifyPlaybackUrl(`${DOC.url}?t=5a71afc0`, key, 0)).toBe('missing');
    expect(verifyPlaybackUrl(`${DOC.url}?sign=3d8488faeb37d52d6bf63b63c1b171c3`, key, 0)).toBe('missing');
    expect(verifyPlaybackUrl(`${DOC.url}?t=&sign=3d8488faeb37d52d6bf63b63c1b171c3`, key, 0)).toBe('missing');
    expect(verifyPlaybackUrl('not a url', key, 0)).toBe('missing');
  });

  test('mismatch: parameters out of the required order, repeated, or malformed', () => {
    expect(
      verifyPlaybackUrl(`${DOC.url}?us=72d4cd1101&t=5a71afc0&rlimit=3&sign=c5214f0d5961b13acd558b4957c4dfc5`, key, DOC.expiresAt),
    ).toBe('mismatch');
    expect(
      verifyPlaybackUrl(`${DOC.url}?sign=c5214f0d5961b13acd558b4957c4dfc5&t=5a71afc0&rlimit=3&us=72d4cd1101`, key, DOC.expiresAt),
    ).toBe('mismatch');
    expect(verifyPlaybackUrl(`${signed}&t=5a71afc0`, key, DOC.expiresAt)).toBe('mismatch');
    expect(verifyPlaybackUrl(signed.replace('t=5a71afc0', 't=5A71AFC0'), key, DOC.expiresAt)).toBe('mismatch');
    expect(verifyPlaybackUrl(signed.replace(/sign=.*/, 'sign=xyz'), key, DOC.expiresAt)).toBe('mismatch');
    expect(verifyPlaybackUrl(signed.replace('us=', 'us=%E0%A4%A'), key, DOC.expiresAt)).toBe('mismatch');
  });

  test('other parameters before the hotlink ones do not matter; an upper-case sign is accepted', () => {
    expect(verifyPlaybackUrl(signed.replace('?', '?foo=bar&'), key, DOC.expiresAt)).toBe('ok');
    expect(
      verifyPlaybackUrl(
        signed.replace(/sign=(.*)$/, (_, s: string) => `sign=${s.toUpperCase()}`),
        key,
        DOC.expiresAt,
      ),
    ).toBe('ok');
  });

  test('a forged URL past its expiry is a mismatch, not "expired"', () => {
    const forged = signed.replace('us=72d4cd1101', 'us=72d4cd1102');
    expect(verifyPlaybackUrl(forged, key, DOC.expiresAt + 10_000)).toBe('mismatch');
    expect(verifyPlaybackUrl(signed, key, DOC.expiresAt + 10_000)).toBe('expired');
  });
});

describe('properties', () => {
  const keyArb = fc.stringMatching(/^[A-Za-z0-9]{8,20}$/);
  const segmentArb = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
  const dirArb = fc.array(segmentArb, { minLength: 0, maxLength: 4 });
  const usArb = fc.stringMatching(/^[A-Za-z0-9._~-]{1,24}$/);
  const expiryArb = fc.integer({ min: 1, max: 2 ** 40 });
  const optionsArb = fc.record(
    {
      key: keyArb,
      expiresAt: expiryArb,
      us: usArb,
      rlimit: fc.integer({ min: 1, max: 9 }),
      exper: fc.integer({ min: 0, max: 86_400 }),
      whreg: fc.array(fc.constantFrom('CHN', 'SGP', 'USA', 'JPN'), { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ['key', 'expiresAt'] },
  );
  const caseArb = fc.record({ dir: dirArb, file: segmentArb, options: optionsArb });
  const urlOf = (dir: string[], file: string) => `https://media.example.com/${[...dir, file].join('/')}`;

  test('sign → verify is ok until t + 300 s, expired after', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 10 ** 6 }), ({ dir, file, options }, before) => {
        const signed = signPlaybackUrl(urlOf(dir, file), options);
        expect(verifyPlaybackUrl(signed, options.key, options.expiresAt - before)).toBe('ok');
        expect(verifyPlaybackUrl(signed, options.key, options.expiresAt + HOTLINK_CLOCK_SKEW_SECONDS)).toBe('ok');
        expect(verifyPlaybackUrl(signed, options.key, options.expiresAt + HOTLINK_CLOCK_SKEW_SECONDS + 1 + before)).toBe(
          'expired',
        );
      }),
    );
  });

  test('any change to the directory → mismatch', () => {
    fc.assert(
      fc.property(caseArb, dirArb, ({ dir, file, options }, otherDir) => {
        fc.pre(otherDir.join('/') !== dir.join('/'));
        const signed = signPlaybackUrl(urlOf(dir, file), options);
        const moved = urlOf(otherDir, file) + signed.slice(signed.indexOf('?'));
        expect(verifyPlaybackUrl(moved, options.key, options.expiresAt)).toBe('mismatch');
      }),
    );
  });

  test('any change to t, us or sign → mismatch (whatever the clock says)', () => {
    const edit = fc.constantFrom('t', 'us', 'sign');
    fc.assert(
      fc.property(
        caseArb,
        edit,
        fc.stringMatching(/^[0-9a-f]{1,32}$/),
        fc.integer({ min: 0, max: 2 ** 41 }),
        ({ dir, file, options }, name, replacement, now) => {
          const signed = signPlaybackUrl(urlOf(dir, file), { ...options, us: options.us ?? 'u' });
          const current = new RegExp(`([?&]${name}=)([^&]*)`).exec(signed)?.[2];
          const value = name === 't' ? replacement.slice(0, 12) : name === 'sign' ? replacement.padStart(32, '0') : replacement;
          fc.pre(
            current !== undefined && value !== current && !(name === 't' && Number.parseInt(value, 16) === options.expiresAt),
          );
          const edited = signed.replace(new RegExp(`([?&]${name}=)[^&]*`), `$1${value}`);
          expect(verifyPlaybackUrl(edited, options.key, now)).toBe('mismatch');
        },
      ),
    );
  });

  test('dropping or adding an optional signed parameter → mismatch', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom('exper', 'rlimit', 'us', 'whreg'), ({ dir, file, options }, name) => {
        const signed = signPlaybackUrl(urlOf(dir, file), options);
        const present = new RegExp(`[?&]${name}=`).test(signed);
        const changed = present
          ? signed.replace(new RegExp(`&${name}=[^&]*`), '')
          : signed.replace(/&sign=/, `&${name}=${name === 'whreg' ? 'CHN' : '1'}&sign=`);
        // Adding a parameter the doc orders (exper, rlimit, us) right before sign may also break the order: either way, refused.
        expect(verifyPlaybackUrl(changed, options.key, options.expiresAt)).toBe('mismatch');
      }),
    );
  });

  test('signing is pure: the same input gives the same URL', () => {
    fc.assert(
      fc.property(caseArb, ({ dir, file, options }) => {
        expect(signPlaybackUrl(urlOf(dir, file), options)).toBe(signPlaybackUrl(urlOf(dir, file), { ...options }));
      }),
    );
  });
});

test('newHotlinkId: 10 random hex characters', () => {
  const ids = new Set(Array.from({ length: 50 }, () => newHotlinkId()));
  expect(ids.size).toBe(50);
  for (const id of ids) expect(id).toMatch(/^[0-9a-f]{10}$/);
});
