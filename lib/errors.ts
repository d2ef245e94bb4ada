/**
 * Errors that cross the HTTP boundary. Each carries the status and a stable machine-readable code;
 * the HTTP adapter turns them into `{ "error": { "code", "message" } }`. Anything else is a bug and
 * becomes a 500 that says nothing about internals.
 *
 * Each class names itself (`name`, read by the log): the bundles are minified without esbuild's
 * keepNames, so a class's own name is not kept (scripts/build.ts).
 */

/**
 * Input that cannot be understood, said without HTTP: a stable code, what was wrong, and the offending
 * field when one is to blame. Domain code throws it (e.g. the VOD event model); the HTTP adapter
 * answers it as a 400 with `field` in the body.
 */
export class InvalidInputError extends Error {
  override name = 'InvalidInputError';
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra fields for the JSON error body (e.g. `field`); never secrets. */
    readonly details: Record<string, unknown> = {},
    /** Extra response headers (e.g. `Retry-After`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(message: string, field?: string, code = 'InvalidRequest') {
    super(400, code, message, field === undefined ? {} : { field });
  }
}

export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(message = 'A valid bearer token is required') {
    super(401, 'Unauthorized', message, {}, { 'www-authenticate': 'Bearer' });
  }
}

export class ForbiddenError extends HttpError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(403, 'Forbidden', message);
  }
}

export class NotFoundError extends HttpError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, 'NotFound', message);
  }
}

export class MethodNotAllowedError extends HttpError {
  override name = 'MethodNotAllowedError';
  constructor(method: string, allowed: readonly string[]) {
    super(
      405,
      'MethodNotAllowed',
      `Method ${method} is not allowed; use ${allowed.join(', ')}`,
      {},
      {
        allow: allowed.join(', '),
      },
    );
  }
}

export class ConflictError extends HttpError {
  override name = 'ConflictError';
  constructor(message: string, code = 'Conflict') {
    super(409, code, message);
  }
}

export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(limit: number) {
    super(413, 'PayloadTooLarge', `The request body exceeds ${limit} bytes`);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  override name = 'UnsupportedMediaTypeError';
  constructor(expected: string) {
    super(415, 'UnsupportedMediaType', `The request body must be ${expected}`);
  }
}

export class TooManyRequestsError extends HttpError {
  override name = 'TooManyRequestsError';
  constructor(retryAfterSeconds: number) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(
      429,
      'RateLimited',
      `Too many requests; retry after ${seconds} s`,
      { retryAfter: seconds },
      {
        'retry-after': String(seconds),
      },
    );
  }
}

export class ServiceUnavailableError extends HttpError {
  override name = 'ServiceUnavailableError';
  constructor(message: string, retryAfterSeconds = 5) {
    super(503, 'ServiceUnavailable', message, {}, { 'retry-after': String(retryAfterSeconds) });
  }
}
