/**
 * The library calls of the upload client (`list`, `listAll`, `deleteUpload`, `usage`) and the CLI's
 * `vod-upload ls`, `rm` and `usage` where no backend is needed (no stack is started): the option checks,
 * and a backend that never answers.
 */
import net from 'node:net';
import { EXIT_CODES, VodUploader } from '../../client/index.ts';
import { cli, failureOf } from '../support/client-library-fixture';

test('the CLI checks its options before calling anything: usage errors exit 2, --help exits 0', async () => {
  const [badStatus, badLimit, noId, twoIds, extra, unknown, help, helpMain] = await Promise.all([
    cli(['ls', '--status', 'nope', '--json']),
    cli(['ls', '--limit', '101']),
    cli(['rm']),
    cli(['rm', 'a', 'b']),
    cli(['usage', 'extra']),
    cli(['usage', '--status', 'READY']),
    cli(['ls', '--help']),
    cli(['--help']),
  ]);
  expect(badStatus.code).toBe(EXIT_CODES.badInput);
  expect(JSON.parse(badStatus.stdout)).toMatchObject({
    ok: false,
    exitCode: 2,
    error: { kind: 'bad-input', message: expect.stringContaining('--status must be one of ISSUED') },
  });
  expect(badLimit.code).toBe(2);
  expect(badLimit.stderr).toContain('--limit must be a whole number from 1 to 100, not "101"');
  expect(badLimit.stderr).toContain('Usage: vod-upload ls');
  expect([noId.code, twoIds.code, extra.code, unknown.code]).toEqual([2, 2, 2, 2]);
  expect(noId.stderr).toContain('give exactly one upload id');
  expect(unknown.stderr).toMatch(/Unknown option '--status'/);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^Usage: vod-upload ls \[--status S\] \[--limit N\]/);
  expect(help.stdout).toContain('--all');
  expect(helpMain.stdout).toMatch(/vod-upload rm <uploadId> \[--yes\]/);
  expect(helpMain.stdout).toMatch(/vod-upload usage/);
});

test('the client refuses a limit outside 1-100 as bad-input naming the field, without a request', async () => {
  let requests = 0;
  const c = new VodUploader({
    apiBaseUrl: 'http://127.0.0.1:9',
    fetch: (() => {
      requests += 1;
      return Promise.reject(new Error('no request expected'));
    }) as typeof fetch,
  });
  for (const limit of [0, 101, 2.5]) {
    const error = await failureOf(c.list({ limit }));
    expect([error.kind, error.field]).toEqual(['bad-input', 'limit']);
  }
  expect((await failureOf(c.deleteUpload(''))).kind).toBe('bad-input');
  expect(requests).toBe(0);
});

test('a backend that never answers: network errors after requestTimeoutMs, retried like the upload calls', async () => {
  const sockets = new Set<net.Socket>();
  let requests = 0;
  const silent = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  try {
    const c = new VodUploader({
      apiBaseUrl: url,
      requestTimeoutMs: 200,
      retry: { retries: 2, minDelayMs: 10, maxDelayMs: 20 },
      fetch: ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
        requests += 1;
        return fetch(input, init);
      }) as typeof fetch,
    });
    for (const call of [() => c.list(), () => c.usage(), () => c.deleteUpload('00000000-0000-4000-8000-000000000000')]) {
      const before = requests;
      const error = await failureOf(call());
      expect(error.kind).toBe('network');
      expect(error.message).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+\/(uploads|me\/usage)\S* within 200 ms/);
      expect(requests - before).toBe(3);
    }
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});
