/**
 * Where webhooks may go. In production only `https://` URLs whose every resolved address is public: a
 * webhook URL must not be a way into the VPC (loopback, private, link-local, CGNAT, metadata addresses).
 * The address is checked when the connection is made (the `lookup` below), not only when the URL is
 * configured, so a name that later resolves to a private address is refused too.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** True for an address a production webhook may reach (IPv4-mapped IPv6 is judged as its IPv4). */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  const family = isIP(ip);
  if (family === 0) return false;
  return !blocked.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** What is wrong with APP_WEBHOOK_URL, or undefined. Production: https, no credentials, no private literal. */
export function webhookUrlProblem(raw: string, production: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https:// URL';
  if (url.username || url.password) return 'must not carry credentials';
  if (!production) return undefined;
  if (url.protocol !== 'https:') return 'must be an https:// URL when STAGE is production';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must not name localhost when STAGE is production';
  if (isIP(host) && !isPublicAddress(host)) return 'must not be a loopback or private address when STAGE is production';
  return undefined;
}

/** What is wrong with one signing secret (`whsec_` + base64 of 24 to 64 bytes, Standard Webhooks), or undefined. */
export function webhookSecretProblem(secret: string): string | undefined {
  const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64').length;
  if (bytes < 24 || bytes > 64) return 'each secret must hold 24 to 64 bytes (whsec_ + base64)';
  return undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request that refuses non-public addresses: the socket connects to the address
 * checked here, so there is no window between the check and the connection.
 */
export function publicOnlyLookup(hostname: string, options: object, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const list = addresses as LookupAddress[];
    const bad = list.find((entry) => !isPublicAddress(entry.address));
    if (bad || list.length === 0) {
      const refused = Object.assign(new Error(`webhook host ${hostname} resolves to a non-public address`), {
        code: 'EWEBHOOKADDRESS',
      });
      return callback(refused, []);
    }
    if ((options as { all?: boolean }).all) return callback(null, list);
    return callback(null, list[0]!.address, list[0]!.family);
  });
}
