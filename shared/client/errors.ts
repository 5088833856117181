/** The error type of every SDK and worker-client call. */

/**
 * A failed API call. `status` is the HTTP status, or 0 when the coordinator
 * could not be reached; `msg` is the server's `{"msg"}` (or a description of
 * the local failure).
 */
export class ClientError extends Error {
  /** HTTP status of the response; 0 for network failures. */
  readonly status: number;
  /** The server's error message, or what went wrong locally. */
  readonly msg: string;
  constructor(status: number, msg: string, options?: ErrorOptions) {
    super(msg, options);
    this.name = "ClientError";
    this.status = status;
    this.msg = msg;
  }
}
