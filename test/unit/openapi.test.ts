/**
 * The OpenAPI document (lib/openapi.ts): current in docs/openapi.json, one operation per route of
 * serverless.yml, and the upload-view schema in step with `UploadView` (contract/upload.ts) and the
 * views lib/upload-view.ts really builds. Answers of the functions are checked in their own tests
 * (test/support/openapi.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type * as z from 'zod';
import type { UploadView } from '#contract';
import { openApiJson, buildOpenApiDocument } from '#lib/openapi';
import { UPLOAD_STATUSES } from '#contract';
import type { Upload } from '#lib/upload-store';
import { uploadViewSchema } from '#lib/upload-status';
import { playbackUrlSigner, uploadView } from '#lib/upload-view';
import { readFunctions } from '../../local/functions-config';
import { expectMatchesOpenApi } from '../support/openapi';

const root = path.join(__dirname, '..', '..');

// Compile-time: every UploadView is accepted by the schema, and what the schema accepts is an UploadView
// (up to `media`, optional in JSON where the type says `| undefined`).
type Accepted = z.input<typeof uploadViewSchema>;
const _viewsAreAccepted = (view: UploadView): Accepted => view;
const _acceptedAreViews = (
  value: z.output<typeof uploadViewSchema>,
): Omit<UploadView, 'media'> & Partial<Pick<UploadView, 'media'>> => value;
void _viewsAreAccepted;
void _acceptedAreViews;

test('docs/openapi.json is what the generator writes (npm run build)', () => {
  expect(readFileSync(path.join(root, 'docs', 'openapi.json'), 'utf8')).toBe(openApiJson());
});

test('every HTTP route of serverless.yml is a path of the document, with its method', () => {
  const paths = (buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> }).paths;
  const routes = readFunctions(path.join(root, 'serverless.yml')).flatMap((fn) => fn.routes);
  expect(routes.length).toBeGreaterThan(0);
  for (const route of routes) {
    // A last `{name?}` segment is optional: both forms are documented.
    const templates = route.path.endsWith('?}')
      ? [route.path.replace(/\/\{\w+\?\}$/, ''), route.path.replace('?}', '}')]
      : [route.path];
    for (const template of templates)
      expect({ template, method: Object.keys(paths[template] ?? {}) }).toEqual({
        template,
        method: expect.arrayContaining([route.method.toLowerCase()]),
      });
  }
});

function upload(status: Upload['status'], extra: Partial<Upload> = {}): Upload {
  const at = new Date('2026-01-02T03:04:05.000Z');
  return {
    uploadId: '3f1c2b7e-1d2a-4c3b-9a8f-0123456789ab',
    userId: 'alice',
    status,
    fileName: 'clip.mp4',
    fileSize: 1234,
    fileType: 'mp4',
    coverType: null,
    fileId: status === 'ISSUED' ? null : '5285890784273533167',
    taskId: null,
    procedure: null,
    media: null,
    result: null,
    error: null,
    review: null,
    processedAt: null,
    distributionForbidden: false,
    signatureExpiresAt: at,
    createdAt: at,
    updatedAt: at,
    statusChangedAt: at,
    ...extra,
  };
}

const ready = upload('READY', {
  media: {
    type: 'mp4',
    size: 1234,
    duration: 2.5,
    width: 320,
    height: 180,
    mediaUrl: 'https://vod.example/a/o.mp4',
    coverUrl: 'https://vod.example/a/c.jpg',
    videoCodec: 'h264',
  },
  result: {
    renditions: [
      {
        url: 'https://vod.example/a/v.f100010.mp4',
        definition: 100010,
        width: 320,
        height: 180,
        bitrate: 250000,
        size: 999,
        duration: 2.5,
        container: 'mp4',
      },
    ],
    adaptiveStreams: [
      { url: 'https://vod.example/a/v.m3u8', definition: 10, package: 'HLS', size: 0, subStreams: [{ Type: 'video' }] },
    ],
    cover: { url: 'https://vod.example/a/cover.jpg' },
    snapshots: [{ url: 'https://vod.example/a/s.jpg', timeOffsetMs: 1000, definition: 10 }],
    sampleSnapshots: [{ imageUrls: ['https://vod.example/a/ss1.jpg'], definition: 10 }],
    sprite: {
      imageUrls: ['https://vod.example/a/sp.jpg'],
      webVttUrl: 'https://vod.example/a/sp.vtt',
      width: 100,
      height: 60,
      totalCount: 3,
    },
    animatedGraphics: [{ url: 'https://vod.example/a/g.gif', definition: 20000, container: 'gif', width: 160, height: 90 }],
  },
});
const views = [
  upload('ISSUED'),
  upload('UPLOADED', { media: { type: 'mp4', size: 1234 } }),
  upload('PROCESSING', { result: { progress: 40 } }),
  ready,
  upload('FAILED', {
    error: {
      code: 'ProcessingFailed',
      message: 'transcode failed',
      failures: [{ type: 'Transcode', errCode: 1, errCodeExt: 'x', message: 'y' }],
    },
  }),
  upload('REJECTED', { error: { code: 'MediaRejected', message: 'too long' } }),
  upload('EXPIRED'),
  upload('DELETED'),
];

test.each(views.map((u) => [u.status, u] as const))('the schema and the document accept the real %s view', (_status, row) => {
  const hotlink = { key: 'HotlinkKey2026', urlTtlSeconds: 600 } as Parameters<typeof playbackUrlSigner>[0];
  for (const view of [uploadView(row), uploadView(row, playbackUrlSigner(hotlink, 3))]) {
    expect(uploadViewSchema.safeParse(view).error).toBeUndefined();
    expectMatchesOpenApi('GET', '/uploads/{uploadId}', 200, JSON.parse(JSON.stringify(view)));
  }
});

test('every status of the contract is one the schema accepts; an unknown field or status is refused', () => {
  expect(uploadViewSchema.shape.status.options).toEqual(UPLOAD_STATUSES);
  const view = JSON.parse(JSON.stringify(uploadView(ready)));
  expect(() => expectMatchesOpenApi('GET', '/uploads/{uploadId}', 200, { ...view, extra: 1 })).toThrow(/additional properties/);
  expect(() => expectMatchesOpenApi('GET', '/uploads/{uploadId}', 200, { ...view, status: 'LOST' })).toThrow(/status/);
  expect(() => expectMatchesOpenApi('GET', '/uploads/{uploadId}', 418, view)).toThrow(/does not list status 418/);
});

test('error answers: the body shape and, per status, the documented codes', () => {
  expectMatchesOpenApi('POST', '/upload-signature', 400, {
    error: { code: 'InvalidRequest', message: 'fileSize: too big', field: 'fileSize' },
  });
  expectMatchesOpenApi('POST', '/upload-signature', 429, { error: { code: 'RateLimited', message: 'later', retryAfter: 3 } });
  expect(() => expectMatchesOpenApi('POST', '/upload-signature', 429, { error: { code: 'NotFound', message: 'x' } })).toThrow(
    /allowed values/,
  );
  expect(() =>
    expectMatchesOpenApi('POST', '/upload-signature', 400, { error: { code: 'InvalidRequest', message: 'x', secret: 'y' } }),
  ).toThrow(/additional properties/);
  expect(() => expectMatchesOpenApi('POST', '/vod-events', 200, { applied: true })).toThrow(/additional properties/);
});
