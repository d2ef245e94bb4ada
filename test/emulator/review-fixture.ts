/**
 * Shared helpers for the emulator's review suites (review*.test.ts): a work folder, copies of the clip under
 * other names or filled with one colour, the admin rules endpoint, the events an emulator produces, and an
 * ApplyUpload with a cover.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import COS from 'cos-nodejs-sdk-v5';
import { CLIP, cosCall, tempDir } from './helpers';
import type { TestEmulator, VodClient } from './helpers';
import { FFMPEG } from './media';

const exec = promisify(execFile);
export const work = tempDir('vod-review-');

/** Removes the work folder; each suite calls it in its afterAll. */
export function removeWork(): void {
  fs.rmSync(work, { recursive: true, force: true });
}

export async function apiError(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected the call to fail');
}

/** A copy of the fixture clip under another name (the media's name is the file's). */
export function named(name: string): string {
  const file = path.join(work, `${name}.mp4`);
  if (!fs.existsSync(file)) fs.copyFileSync(CLIP, file);
  return file;
}

/** A 2 s clip filled with one colour (lavfi `color`), or a PNG image of it. */
export async function filled(colour: string, kind: 'mp4' | 'png' = 'mp4'): Promise<string> {
  const file = path.join(work, `filled-${colour.replace('#', '')}.${kind}`);
  const source = ['-f', 'lavfi', '-i', `color=c=${colour}:s=160x120:d=2:r=25`];
  const out = kind === 'mp4' ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'] : ['-frames:v', '1'];
  if (!fs.existsSync(file)) await exec(FFMPEG, ['-v', 'error', '-y', ...source, ...out, file]);
  return file;
}

export function admin(
  t: TestEmulator,
  method: 'GET' | 'POST',
  body?: unknown,
  headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' },
): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: t.emulator.port,
        method,
        path: '/__admin/review-rules',
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Every event the emulator produces, from the start, so none is missed however fast a task finishes. */
export function recordEvents(t: TestEmulator): Array<Record<string, any>> {
  const seen: Array<Record<string, any>> = [];
  t.emulator.events.on('event', (e) => seen.push(e.content));
  return seen;
}

export async function until<T>(probe: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const reviewEventOf = (seen: Array<Record<string, any>>, taskId: string) =>
  until(() => seen.find((e) => e.ReviewAudioVideoCompleteEvent?.TaskId === taskId));

/** ApplyUpload with a cover (CoverType png): the media's cover is this image. */
export async function uploadWithCover(t: TestEmulator, client: VodClient, cover: string): Promise<string> {
  const applied = await client.ApplyUpload({ MediaType: 'mp4', MediaName: 'with cover', CoverType: 'png' });
  const cos = new COS({
    SecretId: applied.TempCertificate!.SecretId,
    SecretKey: applied.TempCertificate!.SecretKey,
    SecurityToken: applied.TempCertificate!.Token,
    Domain: t.emulator.cosDomain,
    Protocol: 'http:',
    ConfCwd: path.join(work, 'cos-conf'),
  });
  for (const [key, file] of [
    [applied.MediaStoragePath!, CLIP],
    [applied.CoverStoragePath!, cover],
  ] as const) {
    await cosCall(cos, 'putObject', {
      Bucket: applied.StorageBucket,
      Region: applied.StorageRegion,
      Key: key.slice(1),
      Body: fs.readFileSync(file),
    });
  }
  return (await client.CommitUpload({ VodSessionKey: applied.VodSessionKey! })).FileId!;
}
