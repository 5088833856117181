/**
 * Typed API errors. Every failure a coordinator handler can report is one of
 * these kinds; each maps to an HTTP status and travels as `{"msg": "..."}`.
 */

/** Error kinds of the wire contract and their HTTP status codes. */
export const API_ERROR_STATUS = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  Internal: 500,
} as const;

/** One of the API error kinds. */
export type ApiErrorKind = keyof typeof API_ERROR_STATUS;

/** An error that a handler reports to the client as `{"msg"}` with its status. */
export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  constructor(kind: ApiErrorKind, msg: string) {
    super(msg);
    this.name = "ApiError";
    this.kind = kind;
  }
  /** The HTTP status of this error. */
  get status(): number {
    return API_ERROR_STATUS[this.kind];
  }
}

/**
 * What the coordinator answers (503 `{"msg"}` over HTTP, in `Error` and
 * report results over the manager WebSocket) when PostgreSQL is unreachable:
 * a passing condition, so the request may be sent again.
 */
export const DATABASE_UNAVAILABLE_MESSAGE = "the database is unavailable; retry shortly";

/**
 * The 503 `{"msg"}` of a request the coordinator stopped waiting for because
 * the database stopped answering: what it had sent may still take effect
 * once the database is back (a retried submission may then exist twice).
 */
export const DATABASE_NO_ANSWER_MESSAGE =
  "the database did not answer in time; retry shortly (the request may still take effect)";

/** 400: the request is malformed or violates the schema. */
export const badRequest = (msg: string): ApiError => new ApiError("BadRequest", msg);
/** 401: missing, invalid, expired or rotated credentials. */
export const unauthorized = (msg = "invalid or expired token"): ApiError => new ApiError("Unauthorized", msg);
/** 403: authenticated but not allowed, or over a quota. */
export const forbidden = (msg: string): ApiError => new ApiError("Forbidden", msg);
/** 404: the named resource does not exist. */
export const notFound = (msg: string): ApiError => new ApiError("NotFound", msg);
/** 409: the resource already exists. */
export const conflict = (msg: string): ApiError => new ApiError("Conflict", msg);
