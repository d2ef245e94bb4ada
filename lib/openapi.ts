/**
 * The OpenAPI 3.1 document of the HTTP functions, generated from the zod schemas they validate with
 * (request bodies, path parameters) and answer with (the signature, the upload view, the error body),
 * through zod's `z.toJSONSchema`. `npm run build` writes it to docs/openapi.json; the local gateway serves
 * it at `/openapi.json`. Statuses and codes are README's tables ("The upload-signature endpoint", "The
 * VOD event webhook", "Upload status"); test/support/openapi.ts checks every answer the tests receive.
 */
import * as z from 'zod';
import { REVIEW_STATES, UPLOAD_STATUSES } from '#contract';
import { loadConfig } from '#lib/config';
import { errorBodySchema } from '#lib/http';
import { quotaExceededBodySchema, usageSchema } from '#lib/quota';
import { signatureRequestSchema, signatureResponseSchema } from '#lib/issue-upload-signature';
import { libraryItemSchema, libraryPageSchema, MAX_PAGE_SIZE } from '#lib/upload-library';
import { playbackViewSchema, uploadIdSchema, uploadViewSchema } from '#lib/upload-status';
import { reviewDecisionRequestSchema, reviewerItemSchema } from '#lib/review-decision';
import { envelope as vodEventEnvelope } from '#lib/vod-event/wire/envelope';

type Json = Record<string, unknown>;

/** A schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect), without the `$schema` line. */
function jsonSchema(schema: z.core.$ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
  return rest;
}

const json = (schema: Json) => ({ 'application/json': { schema } });
const errorRef = { $ref: '#/components/schemas/Error' };

/** One error answer: its status's meaning and the `error.code` values README gives for it. */
function failure(description: string, codes: string[], headers?: Json): Json {
  // The codes are part of the schema, so a test receiving another code for this status fails.
  const schema = {
    allOf: [
      errorRef,
      { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string', enum: codes } } } } },
    ],
  };
  return {
    description: `${description} (\`error.code\`: ${codes.join(', ')})`,
    content: json(schema),
    ...(headers ? { headers } : {}),
  };
}

const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'string', pattern: '^[0-9]+$' } },
};
const wwwAuthenticate = { 'WWW-Authenticate': { description: '`Bearer`', schema: { type: 'string' } } };

// `InvalidEvent` (400): an SCF event that is not an HTTP request at all, which a gateway never sends.
const common = {
  405: failure('Another method than the ones this path serves; see `Allow`', ['MethodNotAllowed'], {
    Allow: { schema: { type: 'string' } },
  }),
  413: failure('The body is over `HTTP_MAX_BODY_BYTES`', ['PayloadTooLarge']),
  500: failure('An unexpected error: the body carries only the request id, the detail is in the log', ['InternalError']),
};

const userFailures = {
  401: failure(
    'No token, or one that is malformed, expired, not yet valid, wrongly signed, for another issuer or audience, not an access token, or without a usable user id',
    ['Unauthorized'],
    wwwAuthenticate,
  ),
  503: failure("The identity provider's JWKS could not be fetched", ['ServiceUnavailable'], retryAfter),
};

/** CORS preflight: 204, or 403 for an origin outside `CORS_ALLOWED_ORIGINS` (lib/http.ts). */
function preflight(tag: string): Json {
  return {
    tags: [tag],
    summary: 'CORS preflight',
    security: [],
    responses: {
      204: { description: 'Allowed (or not a preflight: then only `Allow`)' },
      403: failure('The origin is not in `CORS_ALLOWED_ORIGINS`', ['Forbidden']),
    },
  };
}

const vodEventBody = {
  ...jsonSchema(vodEventEnvelope, 'input'),
  description:
    'A VOD v3 event (docs/vod-protocol/events.md §4): `EventType` names the payload field (`FileUploadEvent`, `ProcedureStateChangeEvent`, `FileDeleteEvent`…). Read as JSON whatever the Content-Type. With `CALLBACK_SIGN_KEYS` set, `Sign` and `T` travel in the body, the query or the headers (README).',
};

function vodEventsOperation(withPathToken: boolean): Json {
  return {
    tags: ['vod-events'],
    summary: withPathToken ? "VOD's PUSH callback, token in the path" : "VOD's PUSH callback, token in `?token=`",
    operationId: withPathToken ? 'receiveVodEventPathToken' : 'receiveVodEvent',
    security: withPathToken ? [] : [{ callbackToken: [] }],
    ...(withPathToken
      ? {
          parameters: [
            {
              name: 'token',
              in: 'path',
              required: true,
              description: 'One of `CALLBACK_TOKENS`',
              schema: { type: 'string', minLength: 1 },
            },
          ],
        }
      : {}),
    requestBody: { required: true, content: { 'application/json': { schema: vodEventBody }, '*/*': { schema: vodEventBody } } },
    responses: {
      200: {
        description: 'Applied once and recorded (or a duplicate, or an event type the backend does not act on)',
        content: json({ type: 'object', additionalProperties: false }),
      },
      400: failure('The body is not JSON, or a field of the event is bad (named in `field`)', [
        'InvalidJson',
        'InvalidVodEvent',
        'InvalidEvent',
      ]),
      401: failure('The callback URL carries no token', ['Unauthorized'], wwwAuthenticate),
      403: failure('A wrong token, a missing or wrong `Sign`/`T`, or an event VOD does not confirm', ['Forbidden']),
      ...common,
      503: failure('The database or VOD could not be reached: nothing was recorded', ['ServiceUnavailable'], retryAfter),
    },
  };
}

/** A 429 that may also be `QuotaExceeded` (lib/quota.ts), whose body names the quota, its limit and use. */
function withQuotaExceeded(response: Json): Json {
  const content = response.content as { 'application/json': { schema: Json } };
  return {
    ...response,
    description: `${response.description}; or \`QuotaExceeded\`: a per-user quota (\`QUOTA_*\`) has no room for this upload (\`error.quota\`, \`limit\`, \`used\`, \`resetsAt\` for daily ones)`,
    content: json({ oneOf: [content['application/json'].schema, jsonSchema(quotaExceededBodySchema(), 'output')] }),
  };
}

/** GET /uploads (lib/upload-library.ts). */
function listUploadsOperation(): Json {
  const parameter = (name: string, description: string, schema: Json) => ({
    name,
    in: 'query',
    required: false,
    description,
    schema,
  });
  return {
    tags: ['uploads'],
    summary: "The caller's uploads, newest first, in keyset pages; a service token may name any user or list everyone's",
    operationId: 'listUploads',
    security: [{ bearerJwt: [] }],
    parameters: [
      parameter('status', 'Only uploads in this status', { type: 'string', enum: [...UPLOAD_STATUSES] }),
      parameter('review', 'Only uploads whose content review is in this state (`held`: the review queue)', {
        type: 'string',
        enum: [...REVIEW_STATES],
      }),
      parameter('cursor', '`nextCursor` of the previous page (opaque)', { type: 'string', pattern: '^[A-Za-z0-9_-]+$' }),
      parameter('limit', `Page size, 1-${MAX_PAGE_SIZE}; default 20`, { type: 'string', pattern: '^[0-9]+$' }),
      parameter('userId', "Service token only (a user token may name itself): that user's uploads", {
        type: 'string',
        minLength: 1,
      }),
    ],
    responses: {
      200: {
        description: 'One page; items of every user carry `userId`',
        content: json(jsonSchema(libraryPageSchema, 'output')),
      },
      400: failure('A bad or unknown parameter (named in `field`)', ['InvalidRequest', 'InvalidEvent']),
      401: userFailures[401],
      403: failure('`userId` names another user and the token is not a service token', ['Forbidden']),
      ...common,
      503: failure("The identity provider's JWKS or the database could not be reached", ['ServiceUnavailable'], retryAfter),
    },
  };
}

/** DELETE /uploads/{uploadId} (lib/upload-library.ts). */
function deleteUploadOperation(): Json {
  return {
    tags: ['uploads'],
    summary: 'Delete an upload and its media in VOD (idempotent)',
    operationId: 'deleteUpload',
    security: [{ bearerJwt: [] }],
    parameters: [
      { name: 'uploadId', in: 'path', required: true, description: 'Any case', schema: jsonSchema(uploadIdSchema, 'input') },
    ],
    responses: {
      200: {
        description: 'DELETED, its media gone from VOD (or it had none)',
        content: json(jsonSchema(libraryItemSchema, 'output')),
      },
      202: {
        description: 'DELETED, `mediaDeletion: "pending"`: VOD could not be reached, the next cleanup run deletes the media',
        content: json(jsonSchema(libraryItemSchema, 'output')),
      },
      400: failure('`uploadId` is not an upload id', ['InvalidRequest', 'InvalidEvent']),
      401: userFailures[401],
      404: failure('No such upload, or not yours (a service token may delete any)', ['NotFound']),
      ...common,
      503: failure("The identity provider's JWKS or the database could not be reached", ['ServiceUnavailable'], retryAfter),
    },
  };
}

/** POST /uploads/{uploadId}/review (lib/review-decision.ts, docs/content-review.md). */
function reviewUploadOperation(): Json {
  return {
    tags: ['uploads'],
    summary: "The reviewer's decision (service token only): allow an upload (IN_REVIEW → READY) or block it (→ BLOCKED)",
    operationId: 'reviewUpload',
    security: [{ bearerJwt: [] }],
    parameters: [
      { name: 'uploadId', in: 'path', required: true, description: 'Any case', schema: jsonSchema(uploadIdSchema, 'input') },
    ],
    requestBody: { required: true, content: json(jsonSchema(reviewDecisionRequestSchema, 'input')) },
    responses: {
      200: {
        description: "Decided (or already so): the reviewer's view, every URL and the whole review",
        content: json(jsonSchema(reviewerItemSchema, 'output')),
      },
      400: failure('A bad or unknown field (named in `field`), a body that is not a JSON object, broken JSON, a bad `uploadId`', [
        'InvalidRequest',
        'InvalidJson',
        'InvalidEvent',
      ]),
      401: userFailures[401],
      403: failure('Not a service token', ['Forbidden']),
      404: failure('No such upload', ['NotFound']),
      409: failure('The upload cannot take this decision in its status (named in the message)', ['NotReviewable']),
      ...common,
      415: failure('A body that is not `application/json`', ['UnsupportedMediaType']),
      503: failure("The identity provider's JWKS or the database could not be reached", ['ServiceUnavailable'], retryAfter),
    },
  };
}

/** The document. Limits in the request schemas are the defaults of README's configuration table. */
export function buildOpenApiDocument(): Json {
  const defaults = loadConfig({ VOD_SECRET_ID: 'AKIDdocument', VOD_SECRET_KEY: 'document' }, {});
  return {
    openapi: '3.1.0',
    info: {
      title: 'vod-upload-backend',
      version: '1',
      description:
        'Upload signatures for Tencent Cloud VOD client uploads, the upload status, and the VOD event webhook. Generated from the zod schemas in lib/ by `npm run build` (lib/openapi.ts); limits shown are the defaults.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: {
      '/upload-signature': {
        post: {
          tags: ['uploads'],
          summary: 'Issue an upload signature (new upload, or re-sign one still ISSUED)',
          operationId: 'issueUploadSignature',
          security: [{ bearerJwt: [] }],
          requestBody: { required: false, content: json(jsonSchema(signatureRequestSchema(defaults), 'input')) },
          responses: {
            200: {
              description: 'A signature for ApplyUploadUGC',
              content: json(jsonSchema(signatureResponseSchema(), 'output')),
            },
            400: failure('A bad field (named in `field`), an unknown field, a body that is not a JSON object, broken JSON', [
              'InvalidRequest',
              'InvalidJson',
              'InvalidEvent',
            ]),
            401: userFailures[401],
            404: failure('`uploadId` unknown or not yours', ['NotFound']),
            409: failure('`uploadId` is no longer ISSUED, or older than `UPLOAD_MAX_AGE_SECONDS`', [
              'UploadNotPending',
              'UploadTooOld',
            ]),
            ...common,
            415: failure('A body that is not `application/json`', ['UnsupportedMediaType']),
            429: withQuotaExceeded(
              failure(
                'Over `RATE_LIMIT_SIGNATURES` per `RATE_LIMIT_WINDOW_SECONDS` for this user (`Retry-After`), or over `UPLOAD_MAX_ISSUED_PER_USER` uploads still ISSUED (`error.limit`)',
                ['RateLimited', 'TooManyPendingUploads'],
                retryAfter,
              ),
            ),
            503: userFailures[503],
          },
        },
        options: preflight('uploads'),
      },
      '/uploads/{uploadId}': {
        get: {
          tags: ['uploads'],
          summary: "The owner's view of one upload; the playback credential alone for others when PLAYBACK_AUDIENCE allows",
          operationId: 'getUpload',
          // With PLAYBACK_AUDIENCE=public the token is optional (an empty requirement).
          security: [{ bearerJwt: [] }, {}],
          parameters: [
            {
              name: 'uploadId',
              in: 'path',
              required: true,
              description: 'As POST /upload-signature returned it (any case)',
              schema: jsonSchema(uploadIdSchema, 'input'),
            },
            {
              name: 'preview',
              in: 'query',
              required: false,
              description: '`1`: URLs and the Psign limited to HOTLINK_PREVIEW_SECONDS (Key hotlink `exper`)',
              schema: { type: 'string', enum: ['1', '0', 'true', 'false'] },
            },
          ],
          responses: {
            200: {
              description:
                "The owner's view (with `HOTLINK_KEY` set every URL is signed), or, for anyone else PLAYBACK_AUDIENCE lets in, `{ uploadId, status, playback }`",
              content: json({ oneOf: [jsonSchema(uploadViewSchema, 'output'), jsonSchema(playbackViewSchema, 'output')] }),
            },
            400: failure('`uploadId` is not an upload id, or `preview` is not 1 or 0 (or the deployment has no preview)', [
              'InvalidRequest',
              'InvalidEvent',
            ]),
            401: userFailures[401],
            404: failure('No such upload, or not yours', ['NotFound']),
            ...common,
            503: userFailures[503],
          },
        },
        delete: deleteUploadOperation(),
        options: preflight('uploads'),
      },
      '/me/usage': {
        get: {
          tags: ['quotas'],
          summary: "The caller's quota limits and use (a service token may name another user)",
          operationId: 'getUsage',
          security: [{ bearerJwt: [] }],
          parameters: [
            {
              name: 'userId',
              in: 'query',
              required: false,
              description: "Another user's id: only with a service token (a user may name itself)",
              schema: { type: 'string', minLength: 1 },
            },
          ],
          responses: {
            200: {
              description: 'Each quota: its limit (`null`: none set), what is used, and for daily ones when the day (UTC) ends',
              content: json(jsonSchema(usageSchema(), 'output')),
            },
            400: failure('`userId` is not a user id', ['InvalidRequest', 'InvalidEvent']),
            401: userFailures[401],
            403: failure("A user token naming another user's `userId`", ['Forbidden']),
            ...common,
            503: userFailures[503],
          },
        },
        options: preflight('quotas'),
      },
      '/uploads': { get: listUploadsOperation(), options: preflight('uploads') },
      '/uploads/{uploadId}/review': { post: reviewUploadOperation(), options: preflight('uploads') },
      '/vod-events': { post: vodEventsOperation(false), options: preflight('vod-events') },
      '/vod-events/{token}': {
        post: vodEventsOperation(true),
        options: {
          ...preflight('vod-events'),
          parameters: [{ name: 'token', in: 'path', required: true, schema: { type: 'string' } }],
        },
      },
    },
    components: {
      schemas: { Error: jsonSchema(errorBodySchema(), 'output') },
      securitySchemes: {
        bearerJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            "The app user's access token: HS256 with `AUTH_JWT_SECRET` or RS256/ES256 from `AUTH_JWKS_URL`, `iss`/`aud` as configured, the user id in `AUTH_USER_CLAIM` (default `sub`)",
        },
        callbackToken: {
          type: 'apiKey',
          in: 'query',
          name: 'token',
          description:
            'One of `CALLBACK_TOKENS`; or in the path: `/vod-events/{token}` (a path parameter, which OpenAPI security schemes cannot name)',
        },
      },
    },
  };
}

/** The document as docs/openapi.json holds it. */
export function openApiJson(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}
