/**
 * A bare HTTP front for one built function bundle (function-URL event shape), or for the naive
 * doc-only signer, run as its own process so the load generator does not share its CPU time.
 * Usage: tsx bench/serve-bundle.ts <bundle path | --naive | --noop | --minimal-signature | --minimal-events>;
 * prints `listening <port>`. The minimal ones are bench/minimal.ts.
 */
import { createHmac, randomInt } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import querystring from 'node:querystring';
import { minimalEventsHandler, minimalSignatureHandler } from './minimal';

type Handler = (
  event: unknown,
  context: unknown,
) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;

/** The client-upload signature exactly as Tencent's doc sample builds it: no auth, no database. */
function naiveHandler(): Handler {
  const secretId = process.env.VOD_SECRET_ID!;
  const secretKey = process.env.VOD_SECRET_KEY!;
  return async () => {
    const now = Math.floor(Date.now() / 1000);
    const original = querystring.stringify({
      secretId,
      currentTimeStamp: now,
      expireTime: now + 3600,
      random: randomInt(0, 2 ** 32),
    });
    const mac = createHmac('sha1', secretKey).update(original).digest();
    const signature = Buffer.concat([mac, Buffer.from(original)]).toString('base64');
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ signature }) };
  };
}

/** A webhook that acknowledges everything and does nothing: the floor for the vod-events figure. */
const noopHandler: Handler = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' });

const target = process.argv[2]!;
const handler: Handler =
  target === '--naive'
    ? naiveHandler()
    : target === '--noop'
      ? noopHandler
      : target === '--minimal-signature'
        ? (minimalSignatureHandler() as Handler)
        : target === '--minimal-events'
          ? (minimalEventsHandler() as Handler)
          : (require(target) as { main_handler: Handler }).main_handler;
let requests = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', async () => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const event = {
      httpMethod: req.method,
      path: url.pathname,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      queryString: Object.fromEntries(url.searchParams),
    };
    const result = await handler(event, { request_id: `bench-${++requests}` });
    res.writeHead(result.statusCode, result.headers);
    res.end(result.body);
  });
});
// A normal exit on kill, so that --cpu-prof (BENCH_CPU_PROF) writes its profile.
process.on('SIGTERM', () => process.exit(0));
server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as AddressInfo).port}`));
