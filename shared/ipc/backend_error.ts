/** The error of an IPC backend that cannot be used here (missing library, no daemon). */

/** The backend asked for cannot be used. */
export class IpcBackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IpcBackendUnavailableError";
  }
}
