/** An API 3.0 error: VOD's `Response.Error.{Code,Message}` (the endpoint answers it with HTTP 200). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
