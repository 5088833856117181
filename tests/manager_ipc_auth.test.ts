/**
 * Only the workers a manager spawned can speak on its IPC socket: a
 * connection must first say `Hello` with the secret the manager drew for
 * that worker. Anything else (another first request, a wrong secret, a
 * worker id the manager did not spawn, a second connection for a connected
 * worker) gets `Error` and the connection is closed, without a task handed
 * out. Real `IpcService` behind the real `unix` transport, real sockets.
 */
import { test } from "./support/test.ts";
import { assertEquals, assertIncludes } from "./support/assert.ts";
import { FakeLink } from "./support/fake_link.ts";
import { IpcService } from "../manager/pool/ipc_service.ts";
import { PrefetchBuffer } from "../manager/pool/prefetch.ts";
import { unixTransport } from "../shared/ipc/unix.ts";
import type { IpcClient, IpcServer } from "../shared/ipc/transport.ts";
import { newWorkerSecret } from "../shared/ipc/worker_secret.ts";
import { createLogger } from "../shared/log/logger.ts";
import type { ManagerReply } from "../shared/wire/ipc.ts";

const log = createLogger("manager-test", (Deno.env.get("MITOSIS_TEST_LOG") ?? "off") as "off");

/** A manager's IPC endpoint with one task to hand out and worker 0 spawned with `secret`. */
interface Endpoint extends AsyncDisposable {
  link: FakeLink;
  service: IpcService;
  server: IpcServer;
  secret: string;
  dir: string;
  connect(): Promise<IpcClient>;
}

async function startEndpoint(): Promise<Endpoint> {
  const link = new FakeLink();
  link.addTasks([["true"]]);
  const buffer = new PrefetchBuffer({ link, suiteUuid: link.suiteUuid, capacity: 4, log, hasRunningTasks: () => true });
  buffer.start();
  const service = new IpcService({
    link,
    buffer,
    suiteUuid: link.suiteUuid,
    log,
    fetchWaitMs: 2_000,
    isStopping: () => false,
    onUnclaimed: () => {},
    onAbandoned: () => {},
    onCommitted: () => {},
    onAssignmentsChanged: () => {},
    onShutdownSent: () => {},
  });
  const secret = newWorkerSecret();
  service.expectWorker(0, secret);
  const dir = await Deno.makeTempDir({ prefix: "mitosis-ipc-auth-" });
  const server = await unixTransport.serve(`${dir}/ipc.sock`, service);
  const clients: IpcClient[] = [];
  return {
    link,
    service,
    server,
    secret,
    dir,
    connect: async () => {
      const client = await unixTransport.connect(server.address, () => {});
      clients.push(client);
      return client;
    },
    async [Symbol.asyncDispose]() {
      for (const client of clients) client.close();
      await server.close();
      await buffer.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const hello = (client: IpcClient, workerLocalId: number, secret: string) =>
  client.request({ type: "Hello", request_id: 0, worker_local_id: workerLocalId, secret });
const fetchTask = (client: IpcClient, workerLocalId = 0) =>
  client.request({ type: "FetchTask", request_id: 1, worker_local_id: workerLocalId });

/** Asserts an `Error` reply whose message includes `text`, then that the manager closed the connection. */
async function assertRefused(client: IpcClient, reply: ManagerReply, text: string): Promise<void> {
  assertEquals(reply.type, "Error", JSON.stringify(reply));
  assertIncludes(reply.type === "Error" ? reply.msg : "", text);
  await client.closed; // resolves only once the manager has closed the connection
}

test("a connection whose first request is not Hello is refused and closed, and gets no task", async () => {
  await using endpoint = await startEndpoint();
  const client = await endpoint.connect();
  await assertRefused(client, await fetchTask(client), "must be Hello");
  assertEquals(endpoint.service.assignments.size, 0);
});

test("a Hello with a wrong or missing secret is refused and closed", async () => {
  await using endpoint = await startEndpoint();
  const wrong = await endpoint.connect();
  await assertRefused(wrong, await hello(wrong, 0, newWorkerSecret()), "wrong secret for worker 0");
  const missing = await endpoint.connect();
  await assertRefused(missing, await hello(missing, 0, ""), "wrong secret for worker 0");
  // The real worker is still welcome afterwards.
  const worker = await endpoint.connect();
  assertEquals((await hello(worker, 0, endpoint.secret)).type, "HelloReply");
  assertEquals(endpoint.service.assignments.size, 0);
});

test("a Hello for a worker id the manager did not spawn is refused, even with a spawned worker's secret", async () => {
  await using endpoint = await startEndpoint();
  const client = await endpoint.connect();
  await assertRefused(client, await hello(client, 7, endpoint.secret), "worker 7 is not a worker this manager runs");
  assertEquals(endpoint.service.assignments.size, 0);
});

test("a second connection for a connected worker is refused; the worker keeps its task and commits it", async () => {
  await using endpoint = await startEndpoint();
  const worker = await endpoint.connect();
  assertEquals((await hello(worker, 0, endpoint.secret)).type, "HelloReply");
  const fetched = await fetchTask(worker);
  const task = fetched.type === "FetchTaskReply" ? fetched.task : null;
  assertEquals(task === null, false, JSON.stringify(fetched));

  const intruder = await endpoint.connect();
  await assertRefused(intruder, await hello(intruder, 0, endpoint.secret), "worker 0 is already connected");
  assertEquals(endpoint.service.assignments.get(0)?.task.uuid, task!.uuid);

  const commit = await worker.request({
    type: "ReportTask",
    request_id: 2,
    worker_local_id: 0,
    task_id: task!.id,
    op: { Commit: { exit_status: 0, msg: null } },
  });
  assertEquals(commit.type === "ReportTaskReply" ? commit.success : commit, true);
  assertEquals(endpoint.link.opsOf(task!.uuid).at(-1), "Commit");
});

test("once a worker has exited its secret is void; the IPC socket is private to the manager's user", async () => {
  await using endpoint = await startEndpoint();
  assertEquals((await Deno.stat(endpoint.server.address)).mode! & 0o777, 0o600);
  endpoint.service.workerExited(0);
  const client = await endpoint.connect();
  await assertRefused(client, await hello(client, 0, endpoint.secret), "worker 0 is not a worker this manager runs");
});
