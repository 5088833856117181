/**
 * `ManagerPushes` over PostgreSQL LISTEN/NOTIFY: a push for a manager
 * connected to this coordinator is written to its socket directly; any other
 * push is published on the `mitosis_manager_push` channel, and every
 * coordinator delivers it if that manager is connected there. Payloads over
 * the NOTIFY limit go through `manager_push_outbox`.
 */
import type { Sql } from "../db/connect.ts";
import { jsonb } from "../db/connect.ts";
import type { Logger } from "../../shared/log/logger.ts";
import { CoordinatorMessageSchema, type CoordinatorPush } from "../../shared/wire/manager_ws.ts";
import type { ManagerPushes } from "./push.ts";
import type { SessionRegistry } from "./registry.ts";

const CHANNEL = "mitosis_manager_push";
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_INLINE_BYTES = 7000;

type Envelope = { manager_id: number; push?: unknown; outbox_id?: number };

/** A running push bus. */
export interface PushBus extends ManagerPushes {
  stop(): Promise<void>;
}

/** Starts listening and returns the push sender. */
export async function startPushBus(sql: Sql, registry: SessionRegistry, log: Logger): Promise<PushBus> {
  const deliver = (managerId: number, push: unknown) => {
    const session = registry.get(managerId);
    if (!session) return;
    const parsed = CoordinatorMessageSchema.safeParse(push);
    if (!parsed.success) {
      log.error("dropping malformed push from another coordinator", { manager_id: managerId });
      return;
    }
    session.send(parsed.data);
  };
  const listener = await sql.listen(CHANNEL, (payload) => {
    void (async () => {
      const envelope = JSON.parse(payload) as Envelope;
      if (!registry.get(envelope.manager_id)) return;
      if (envelope.outbox_id !== undefined) {
        const [row] = await sql<{ payload: unknown }[]>`
          DELETE FROM manager_push_outbox WHERE id = ${envelope.outbox_id} RETURNING payload`;
        if (row) deliver(envelope.manager_id, row.payload);
        return;
      }
      deliver(envelope.manager_id, envelope.push);
    })().catch((error) => log.error("push delivery failed", { error }));
  });
  return {
    send: async (managerId: number, push: CoordinatorPush) => {
      const local = registry.get(managerId);
      if (local) {
        local.send(push);
        return;
      }
      const inline = JSON.stringify({ manager_id: managerId, push } satisfies Envelope);
      if (new TextEncoder().encode(inline).length <= MAX_INLINE_BYTES) {
        await sql.notify(CHANNEL, inline);
        return;
      }
      const [row] = await sql<{ id: number }[]>`
        INSERT INTO manager_push_outbox (node_manager_id, payload) VALUES (${managerId}, ${jsonb(sql, push)})
        RETURNING id`;
      await sql.notify(CHANNEL, JSON.stringify({ manager_id: managerId, outbox_id: row.id } satisfies Envelope));
    },
    stop: async () => {
      await listener.unlisten();
    },
  };
}
