/** Size limits of the manager ↔ worker IPC (SPEC §7), without the schemas (`shared/wire/ipc.ts` re-exports them). */

/** Largest IPC message accepted (bytes of JSON). */
export const MAX_IPC_MESSAGE_BYTES = 16 << 20;
