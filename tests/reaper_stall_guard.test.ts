/**
 * A reaper's statement sent just before the database stalled runs only once
 * the database is back, and would then count the stall as the peers'
 * silence (the heartbeats were held up by the same stall): the acceptance
 * suite's 8.3.5 stall took a live manager Offline this way and its tasks ran
 * twice. Such a late decision is discarded; a prompt one still reaps.
 */
import { connect } from "../coordinator/db/connect.ts";
import { reapManagerBatch } from "../coordinator/maintenance/manager_reaper.ts";
import { StalledDecisionError } from "../coordinator/maintenance/stall_guard.ts";
import { NodeManagerStateCode } from "../shared/wire/managers.ts";
import { assertEquals, assertTrue } from "./support/assert.ts";
import { migratedDatabase } from "./support/postgres.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";
import { test } from "./support/test.ts";

const TIMEOUT_MS = 2_000;

test("a manager reaper statement held up by a stalled database is rolled back; a prompt one takes silent managers Offline", async () => {
  const url = new URL(await migratedDatabase());
  const direct = connect(url.toString(), 2);
  await using proxy = startTcpProxy({ hostname: url.hostname, port: Number(url.port) });
  const proxied = new URL(url);
  proxied.port = String(proxy.port);
  const viaProxy = connect(proxied.toString(), 1);
  try {
    const [user] = await direct<{ id: number }[]>`
      INSERT INTO users (username, encrypted_password, auth_signature) VALUES ('reaper-test', 'x', 1) RETURNING id`;
    const [manager] = await direct<{ uuid: string }[]>`
      INSERT INTO node_managers (uuid, creator_id, state, last_heartbeat, token_signature, token_expires_at)
      VALUES (${crypto.randomUUID()}, ${user.id}, ${NodeManagerStateCode.Idle}, now(), 1, now() + interval '1 day')
      RETURNING uuid`;
    const state = async () =>
      (await direct<{ state: number }[]>`SELECT state FROM node_managers WHERE uuid = ${manager.uuid}`)[0].state;
    await viaProxy`SELECT 1`; // the proxied connection is open before the stall
    const clockStart = new Date(0);

    // The manager heartbeats, then the database stalls for longer than the timeout while a reaper pass is sent.
    proxy.stall();
    const late = reapManagerBatch(viaProxy, TIMEOUT_MS, 10, clockStart);
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 1_000)); // longer than the guard (1 s) too
    proxy.restore();
    const outcome = await late.then((reaped) => `committed, reaping ${reaped.length}`, (error: unknown) => error);
    assertTrue(outcome instanceof StalledDecisionError, `a StalledDecisionError, got: ${outcome}`);
    assertEquals(await state(), NodeManagerStateCode.Idle, "the late decision was rolled back");

    // A prompt pass still reaps the (now really) silent manager.
    const reaped = await reapManagerBatch(viaProxy, TIMEOUT_MS, 10, clockStart);
    assertEquals(reaped.map((m) => m.uuid), [manager.uuid]);
    assertEquals(await state(), NodeManagerStateCode.Offline);
  } finally {
    await viaProxy.end({ timeout: 1 });
    await direct.end({ timeout: 1 });
  }
});
