/**
 * `Deno.dlopen` bindings to the C binding of Eclipse iceoryx 2.0
 * (`libiceoryx_binding_c.so.2`, Debian packages `iceoryx` and
 * `libiceoryx-binding-c-dev`): the runtime, publish/subscribe ports, the wait
 * set and a user trigger — what the `iceoryx` IPC transport needs. Struct
 * layouts (options structs, 8-byte storages) are those of iceoryx 2.0.3 on
 * x86-64 / aarch64 Linux, checked against its headers with a compiled probe.
 *
 * Loading the library does nothing by itself; `iox_runtime_init` blocks for
 * 60 s and then aborts the whole process when no RouDi daemon runs, so it is
 * only called after `roudiReachable()` (`shared/ipc/iceoryx/roudi.ts`).
 */

/** File name of the iceoryx C binding. */
export const ICEORYX_C_LIBRARY = "libiceoryx_binding_c.so.2";
/** Environment variable naming another path for the library. */
export const ICEORYX_LIB_ENV = "MITOSIS_ICEORYX_LIB";

const SYMBOLS = {
  iox_set_loglevel: { parameters: ["i32"], result: "void" },
  iox_runtime_init: { parameters: ["buffer"], result: "void" },
  iox_runtime_shutdown: { parameters: [], result: "void" },
  iox_pub_options_init: { parameters: ["buffer"], result: "void" },
  iox_pub_init: { parameters: ["buffer", "buffer", "buffer", "buffer", "buffer"], result: "pointer" },
  iox_pub_deinit: { parameters: ["pointer"], result: "void" },
  iox_pub_loan_chunk: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  iox_pub_release_chunk: { parameters: ["pointer", "pointer"], result: "void" },
  iox_pub_publish_chunk: { parameters: ["pointer", "pointer"], result: "void" },
  iox_pub_has_subscribers: { parameters: ["pointer"], result: "bool" },
  iox_sub_options_init: { parameters: ["buffer"], result: "void" },
  iox_sub_init: { parameters: ["buffer", "buffer", "buffer", "buffer", "buffer"], result: "pointer" },
  iox_sub_deinit: { parameters: ["pointer"], result: "void" },
  iox_sub_get_subscription_state: { parameters: ["pointer"], result: "i32" },
  iox_sub_take_chunk: { parameters: ["pointer", "buffer"], result: "i32" },
  iox_sub_release_chunk: { parameters: ["pointer", "pointer"], result: "void" },
  iox_ws_init: { parameters: ["buffer"], result: "pointer" },
  iox_ws_deinit: { parameters: ["pointer"], result: "void" },
  iox_ws_wait: { parameters: ["pointer", "buffer", "u64", "buffer"], result: "u64", nonblocking: true },
  iox_ws_attach_subscriber_state: {
    parameters: ["pointer", "pointer", "i32", "u64", "pointer"],
    result: "i32",
  },
  iox_ws_detach_subscriber_state: { parameters: ["pointer", "pointer", "i32"], result: "void" },
  iox_ws_attach_user_trigger_event: { parameters: ["pointer", "pointer", "u64", "pointer"], result: "i32" },
  iox_ws_detach_user_trigger_event: { parameters: ["pointer", "pointer"], result: "void" },
  iox_user_trigger_init: { parameters: ["buffer"], result: "pointer" },
  iox_user_trigger_deinit: { parameters: ["pointer"], result: "void" },
  iox_user_trigger_trigger: { parameters: ["pointer"], result: "void" },
  iox_notification_info_get_notification_id: { parameters: ["pointer"], result: "u64" },
  iox_chunk_header_from_user_payload_const: { parameters: ["pointer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library's functions. */
export type IceoryxSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** `iox_LogLevel` values of the C binding, by name. */
export const ICEORYX_LOG_LEVELS = { off: 0, verbose: 1, debug: 2, info: 3, warn: 4, error: 5, fatal: 6 } as const;
/** Environment variable setting the library's own log level (default `fatal`: what it reports is handled and logged here). */
export const ICEORYX_LOG_LEVEL_ENV = "MITOSIS_ICEORYX_LOG_LEVEL";

/** `iox_SubscriberState_HAS_DATA`. */
export const SUBSCRIBER_STATE_HAS_DATA = 0;
/** `iox_SubscribeState` values. */
export const SubscribeState = { NOT_SUBSCRIBED: 0, SUBSCRIBE_REQUESTED: 1, SUBSCRIBED: 2, WAIT_FOR_OFFER: 4 } as const;
/** `iox_QueueFullPolicy_BLOCK_PRODUCER`. */
export const QUEUE_FULL_BLOCK_PRODUCER = 0;
/** `iox_ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER`. */
export const CONSUMER_TOO_SLOW_WAIT = 0;
/** `iox_AllocationResult` values, by number, for error messages. */
export const ALLOCATION_RESULTS = [
  "NO_MEMPOOLS_AVAILABLE",
  "RUNNING_OUT_OF_CHUNKS",
  "TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL",
  "INVALID_CHUNK",
  "INVALID_PARAMETER_FOR_USER_PAYLOAD_OR_USER_HEADER",
  "UNDEFINED_ERROR",
  "INVALID_PARAMETER_FOR_CHUNK",
  "INVALID_PARAMETER_FOR_REQUEST_HEADER",
  "SUCCESS",
] as const;
/** `iox_AllocationResult_SUCCESS`. */
export const ALLOCATION_SUCCESS = 8;
/** `iox_AllocationResult_RUNNING_OUT_OF_CHUNKS`. */
export const ALLOCATION_OUT_OF_CHUNKS = 1;
/** `iox_ChunkReceiveResult` values. */
export const ChunkReceive = { TOO_MANY_HELD: 0, NO_CHUNK: 1, UNDEFINED_ERROR: 2, SUCCESS: 3 } as const;
/** `iox_WaitSetResult_SUCCESS`. */
export const WAIT_SET_SUCCESS = 3;
/** Largest subscriber queue iceoryx 2.0 allows (`MAX_SUBSCRIBER_QUEUE_CAPACITY`). */
export const MAX_SUBSCRIBER_QUEUE = 256;
/** Offset of `m_userPayloadSize` (u32) in iceoryx 2.0's `ChunkHeader`. */
export const CHUNK_HEADER_USER_PAYLOAD_SIZE_OFFSET = 28;
/** Largest service/instance/event string (`IdString_t` capacity). */
export const MAX_ID_STRING = 100;

/** Sizes and field offsets of the options structs (iceoryx 2.0.3, LP64). */
const PUB_OPTIONS = { size: 32, historyCapacity: 0, offerOnCreate: 16, subscriberTooSlowPolicy: 20 } as const;
const SUB_OPTIONS = {
  size: 48,
  queueCapacity: 0,
  historyRequest: 8,
  subscribeOnCreate: 24,
  queueFullPolicy: 28,
  requirePublisherHistorySupport: 32,
} as const;

/** The iceoryx library could not be loaded. */
export class IceoryxUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IceoryxUnavailableError";
  }
}

let loaded: { path: string; symbols: IceoryxSymbols } | null = null;

/** The path the library is loaded from. */
export function iceoryxLibraryPath(env: Readonly<Record<string, string | undefined>> = Deno.env.toObject()): string {
  return env[ICEORYX_LIB_ENV] || ICEORYX_C_LIBRARY;
}

/**
 * Loads the library once per process (throws `IceoryxUnavailableError`
 * saying why when it is missing or lacks a symbol).
 */
export function loadIceoryx(path: string = iceoryxLibraryPath()): IceoryxSymbols {
  if (loaded !== null) return loaded.symbols;
  try {
    const lib = Deno.dlopen(path, SYMBOLS);
    loaded = { path, symbols: lib.symbols };
    return lib.symbols;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new IceoryxUnavailableError(
      `cannot load the iceoryx C binding from "${path}" (install the Debian packages iceoryx and ` +
        `libiceoryx-binding-c-dev, or set ${ICEORYX_LIB_ENV}): ${reason}`,
      { cause: error },
    );
  }
}

/** Whether the library loads (and stays loaded for later use). */
export function probeIceoryx(path?: string): { ok: true } | { ok: false; reason: string } {
  try {
    loadIceoryx(path);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

const encoder = new TextEncoder();

/** A NUL-terminated C string. */
export function cString(value: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(encoder.encode(value).length + 1);
  encoder.encodeInto(value, bytes);
  return bytes;
}

/** A service/instance/event id: checked against iceoryx's length limit. */
export function idString(value: string): Uint8Array<ArrayBuffer> {
  if (value.length === 0 || value.length > MAX_ID_STRING || !/^[\x21-\x7e]+$/.test(value)) {
    throw new RangeError(`iceoryx id "${value}" must be 1–${MAX_ID_STRING} printable ASCII characters`);
  }
  return cString(value);
}

/** Publisher options: no history, offered at once, the publisher waits for a full subscriber queue (never drops). */
export function publisherOptions(lib: IceoryxSymbols): Uint8Array<ArrayBuffer> {
  const options = new Uint8Array(PUB_OPTIONS.size);
  lib.iox_pub_options_init(options);
  const view = new DataView(options.buffer);
  view.setBigUint64(PUB_OPTIONS.historyCapacity, 0n, true);
  view.setUint8(PUB_OPTIONS.offerOnCreate, 1);
  view.setInt32(PUB_OPTIONS.subscriberTooSlowPolicy, CONSUMER_TOO_SLOW_WAIT, true);
  return options;
}

/** Subscriber options: the largest queue, no history, subscribed at once, a full queue blocks the publisher. */
export function subscriberOptions(lib: IceoryxSymbols, queueCapacity = MAX_SUBSCRIBER_QUEUE): Uint8Array<ArrayBuffer> {
  const options = new Uint8Array(SUB_OPTIONS.size);
  lib.iox_sub_options_init(options);
  const view = new DataView(options.buffer);
  view.setBigUint64(SUB_OPTIONS.queueCapacity, BigInt(queueCapacity), true);
  view.setBigUint64(SUB_OPTIONS.historyRequest, 0n, true);
  view.setUint8(SUB_OPTIONS.subscribeOnCreate, 1);
  view.setInt32(SUB_OPTIONS.queueFullPolicy, QUEUE_FULL_BLOCK_PRODUCER, true);
  view.setUint8(SUB_OPTIONS.requirePublisherHistorySupport, 0);
  return options;
}
