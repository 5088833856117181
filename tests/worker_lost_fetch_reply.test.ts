/**
 * A task fetch whose reply never reaches the independent worker (its
 * coordinator killed after the claim committed, the connection dropped on
 * the way back: found by the chaos acceptance case's coordinator kills). The
 * task is Running and assigned to a worker that never saw it; since a worker
 * asks for a task only when it runs none, its next fetch is given that task
 * again, and any other task it still holds goes back to Ready. Before, the
 * task stayed Running until the worker was removed, which a live worker
 * never is: it was lost for as long as the worker lived.
 */
import { assertEquals } from "./support/assert.ts";
import { test } from "./support/test.ts";
import { ADMIN, startTestCoordinator, type TestCoordinator } from "./support/coordinator.ts";
import { call, createUser, login } from "./support/http.ts";
import { noopTask, registerWorker } from "./support/workers_api.ts";
import { claimTaskForWorker } from "../coordinator/scheduler/claim.ts";
import { TaskStateCode } from "../shared/wire/tasks.ts";

async function submit(url: string, token: string, priority: number): Promise<string> {
  const res = await call(url, "POST", "/tasks", { token, body: noopTask("alice", { priority }) });
  if (res.status !== 200) throw new Error(res.text);
  return (res.body as { uuid: string }).uuid;
}

/** Claims a task for the worker as `GET /workers/tasks` does, without the reply ever reaching it. */
async function claimWithLostReply(coord: TestCoordinator, workerUuid: string): Promise<string> {
  const [worker] = await coord.sql<{ id: number }[]>`SELECT id FROM workers WHERE worker_id = ${workerUuid}`;
  const claimed = await claimTaskForWorker(coord.sql, worker.id, []);
  if (claimed === null) throw new Error("nothing to claim");
  return claimed.uuid;
}

async function taskRow(coord: TestCoordinator, uuid: string) {
  const [row] = await coord.sql<{ state: number; worker: string | null }[]>`
    SELECT t.state, w.worker_id::text AS worker FROM active_tasks t LEFT JOIN workers w ON w.id = t.assigned_worker
    WHERE t.uuid = ${uuid}`;
  return row;
}

test("a task whose fetch reply was lost is given again to the worker's next fetch, and it completes", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const lost = await submit(coord.url, alice, 5);
  const other = await submit(coord.url, alice, 0);
  const worker = await registerWorker(coord.url, alice);

  assertEquals(await claimWithLostReply(coord, worker.uuid), lost);
  assertEquals(await taskRow(coord, lost), { state: TaskStateCode.Running, worker: worker.uuid });

  // The worker, which never received it, asks for a task: it gets that one again, not the next in line.
  const again = await worker.fetch();
  assertEquals(again?.uuid, lost);
  await worker.complete(again!);
  assertEquals((await worker.fetch())?.uuid, other);
  const archived = await coord.sql<{ uuid: string }[]>`SELECT uuid::text FROM archived_tasks WHERE uuid = ${lost}`;
  assertEquals(archived.length, 1);
});

test("tasks a worker still holds when it fetches, besides the one given again, go back to Ready", async () => {
  await using coord = await startTestCoordinator();
  const admin = await login(coord.url, ADMIN.username, ADMIN.password, true);
  const alice = await createUser(coord.url, admin, "alice");
  const first = await submit(coord.url, alice, 9);
  const second = await submit(coord.url, alice, 8);
  const worker = await registerWorker(coord.url, alice);
  const bystander = await registerWorker(coord.url, alice);

  // As two lost replies of the code before this fix left them, the second one with a Finish whose Commit never came.
  assertEquals(await claimWithLostReply(coord, worker.uuid), first);
  await coord.sql`
    UPDATE active_tasks SET state = ${TaskStateCode.Finished},
      assigned_worker = (SELECT id FROM workers WHERE worker_id = ${worker.uuid})
    WHERE uuid = ${second}`;

  assertEquals((await worker.fetch())?.uuid, first);
  assertEquals(await taskRow(coord, second), { state: TaskStateCode.Ready, worker: null });
  assertEquals((await bystander.fetch())?.uuid, second);
});
