import { createLogger, redact, setLogSink } from '#lib/log';

describe('logging', () => {
  test('one JSON line per event with level, message and context fields', () => {
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    try {
      const log = createLogger({ fn: 'upload-signature' }, 'info').child({ requestId: 'r-1' });
      log.debug('hidden');
      log.info('upload signature issued', { uploadId: 'u-1', userId: 'alice' });
    } finally {
      setLogSink(previous);
    }
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'info',
      msg: 'upload signature issued',
      fn: 'upload-signature',
      requestId: 'r-1',
      uploadId: 'u-1',
      userId: 'alice',
    });
  });

  test('secret-looking keys are redacted at any depth', () => {
    const out = JSON.stringify(
      redact({
        config: { vod: { secretKey: 'SK', secretId: 'AKID' }, auth: { secret: 'JWT' } },
        headers: { authorization: 'Bearer abc', 'x-cos-security-token': 'tok' },
        signature: 'c2lnbmF0dXJl',
        Sign: 'md5',
        list: [{ password: 'pw' }],
        hotlink: { key: 'HOTKEY', urlTtlSeconds: 3600 },
        playback: { key: 'PLAYKEY', appId: 1 },
        playbackKey: 'PLAYKEY2',
        psign: 'eyJ.psign',
      }),
    );
    for (const secret of [
      'SK',
      'AKID',
      'JWT',
      'Bearer abc',
      'tok',
      'c2lnbmF0dXJl',
      'md5',
      'pw',
      'HOTKEY',
      'PLAYKEY',
      'PLAYKEY2',
      'eyJ.psign',
    ]) {
      expect(out).not.toContain(`"${secret}"`);
    }
    expect(out).toContain('[redacted]');
  });
});

test('errors keep their code and cause (redacted), so an operator can tell why', () => {
  const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
  const error = Object.assign(new Error('The database is unavailable'), { status: 503, cause });
  const out = redact({ error }) as { error: { code?: string; cause: { code: string; message: string }; stack?: string } };
  expect(out.error.cause).toMatchObject({ code: 'ECONNREFUSED', message: expect.stringContaining('ECONNREFUSED') });
  expect(out.error.stack).toBeUndefined();
});
