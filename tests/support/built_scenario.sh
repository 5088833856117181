#!/bin/sh
# The end-to-end scenario of the built executables, run by
# tests/built_end_to_end.test.ts inside `unshare -mn` (no network but
# loopback, the repository hidden under an empty tmpfs) with nothing in the
# environment but HOME (empty) and PATH=/usr/bin:/bin.
#
# $1: the test directory: bin/ holds the four copied files; results go to
# out/ (world-writable: tasks run as the unprivileged task user).
set -eu
T=$1
B=$T/bin
O=$T/out
cd "$T"
export MITOSIS_COORDINATOR_ADDR=http://127.0.0.1:5000

pids=
stop_all() {
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap stop_all EXIT

# wait_for FILE TEXT PID: until FILE contains TEXT; fails if PID exits first.
wait_for() {
  n=0
  until grep -q -- "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || { echo "scenario: $3 exited before '$2' appeared in $1" >&2; exit 1; }
    n=$((n + 1))
    [ "$n" -lt 1800 ] || { echo "scenario: timed out waiting for '$2' in $1" >&2; exit 1; }
    sleep 0.1
  done
}

# 1. Coordinator on embedded PostgreSQL and the local blob store.
"$B/mitosis-coordinator" --log-level info >"$O/coordinator.out" 2>"$O/coordinator.log" &
coordinator=$!
pids="$coordinator"
wait_for "$O/coordinator.out" "listening on http://127.0.0.1:5000" "$coordinator"

# 2. The CLI logs in (the password from the environment, as a script would).
MITOSIS_PASSWORD=mitosis_admin "$B/mitosis" login mitosis_admin >"$O/login.out"
"$B/mitosis" auth >"$O/auth.out"

# 3. A node manager with 2 managed workers runs a suite with setup and cleanup hooks, 20 tasks.
printf 'mitosis_admin\n' >"$T/password"
chmod 600 "$T/password"
"$B/mitosis-manager" --user mitosis_admin --password-file "$T/password" --tags e2e --max-workers 2 \
  --heartbeat-interval 2s --log-level info >"$O/manager.out" 2>"$O/manager.log" &
manager=$!
pids="$manager $pids"
wait_for "$O/manager.out" "connected to" "$manager"
suite=$("$B/mitosis" suites create --name e2e --tags e2e --workers 2 \
  --prep "sh -c 'echo prep >> $O/prep'" --cleanup "sh -c 'echo cleanup >> $O/cleanup'")
echo "$suite" >"$O/suite.uuid"
# All 20 in one request: a suite is Complete as soon as nothing is pending, even while Open.
i=1
sep=
{
  echo "["
  while [ "$i" -le 20 ]; do
    printf '%s{"suite_uuid": "%s", "task_spec": {"args": ["sh", "-c", %s]}}\n' "$sep" "$suite" \
      "\"echo \$MITOSIS_WORKER_LOCAL_ID > $O/task-$i; sleep 0.2; test -f $O/prep\""
    sep=,
    i=$((i + 1))
  done
  echo "]"
} >"$T/tasks.json"
"$B/mitosis" tasks submit-many --file "$T/tasks.json" >"$O/suite-tasks.uuid"
"$B/mitosis" suites watch "$suite" >"$O/watch.out" 2>&1
"$B/mitosis" --json suites get "$suite" >"$O/suite.json"

# 4. An independent worker runs a standalone task.
"$B/mitosis-worker" --user mitosis_admin --password-file "$T/password" --tags standalone \
  --polling-interval 1s --log-level info >"$O/worker.out" 2>"$O/worker.log" &
worker=$!
pids="$worker $pids"
task=$("$B/mitosis" tasks submit --tags standalone -- sh -c "echo standalone > $O/standalone")
n=0
until "$B/mitosis" --json tasks get "$task" >"$O/standalone.json" 2>/dev/null &&
  grep -q '"state": *"Finished"' "$O/standalone.json"; do
  kill -0 "$worker" 2>/dev/null || { echo "scenario: the worker exited" >&2; exit 1; }
  n=$((n + 1))
  [ "$n" -lt 600 ] || { echo "scenario: the standalone task did not finish" >&2; exit 1; }
  sleep 0.1
done

# 5. What each daemon runs from, then a graceful stop of each, in order.
for pid in "$coordinator" "$manager" "$worker"; do readlink "/proc/$pid/exe"; done >"$O/exes"
for pid in "$worker" "$manager" "$coordinator"; do
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  echo "$pid $status" >>"$O/exit-codes"
done
pids=
echo done >"$O/scenario.done"
