import { assertEquals, assertIncludes, assertTrue } from "./support/assert.ts";
import { ConfigError, loadConfig } from "../shared/config/load.ts";
import { coordinatorFields } from "../shared/config/sections.ts";
import { formatDuration, parseDuration } from "../shared/config/duration.ts";
import { parseSize } from "../shared/config/size.ts";
import { formatTimestamp, parseTimestamp } from "../shared/time.ts";

async function withConfigFile(toml: string, fn: (path: string) => void): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config.toml`, toml);
    fn(`${dir}/config.toml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("configuration precedence: defaults < TOML file < MITOSIS_* env < flags", async () => {
  const toml = `[coordinator]
bind = "127.0.0.1:6000"
heartbeat_timeout = "5m"
admin_user = "root_from_file"
suite_auto_close = "1m"
[worker]
polling_interval = "1s"
`;
  await withConfigFile(toml, (path) => {
    const { config, configFile } = loadConfig("coordinator", coordinatorFields, {
      args: ["--config", path, "--bind", "127.0.0.1:7000"],
      env: { MITOSIS_BIND: "127.0.0.1:6500", MITOSIS_HEARTBEAT_TIMEOUT: "90s", HOME: "/nonexistent" },
    });
    assertEquals(configFile, path);
    assertEquals(config.bind, "127.0.0.1:7000"); // flag beats env beats file
    assertEquals(config.heartbeat_timeout, 90_000); // env beats file
    assertEquals(config.admin_user, "root_from_file"); // file beats default
    assertEquals(config.suite_auto_close, 60_000);
    assertEquals(config.access_token_expires_in, 7 * 86_400_000); // default
    assertEquals(config.manager_heartbeat_timeout, 120_000);
    assertEquals(config.db_url, undefined);
  });
});

Deno.test("the default config file is $XDG_CONFIG_HOME/mitosis/config.toml and may be absent", async () => {
  const home = await Deno.makeTempDir();
  try {
    const none = loadConfig("coordinator", coordinatorFields, { args: [], env: { XDG_CONFIG_HOME: home } });
    assertEquals(none.configFile, undefined);
    await Deno.mkdir(`${home}/mitosis`);
    await Deno.writeTextFile(`${home}/mitosis/config.toml`, `[coordinator]\nbind = "0.0.0.0:5001"\nredis_url = "x"\n`);
    const found = loadConfig("coordinator", coordinatorFields, { args: [], env: { XDG_CONFIG_HOME: home } });
    assertEquals(found.config.bind, "0.0.0.0:5001");
    assertEquals(found.unknownKeys, ["redis_url"]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("bad configuration yields one line per bad field, naming its source", async () => {
  await withConfigFile(`[coordinator]\nheartbeat_timeout = "forever"\ns3_force_path_style = 3\n`, (path) => {
    let error: unknown;
    try {
      loadConfig("coordinator", coordinatorFields, {
        args: ["--config", path, "--ws-ping-interval", "often"],
        env: { MITOSIS_LOG_LEVEL: "loud" },
      });
    } catch (e) {
      error = e;
    }
    assertTrue(error instanceof ConfigError);
    const lines = (error as ConfigError).lines;
    assertEquals(lines.length, 4, lines.join("\n"));
    assertIncludes(lines.join("\n"), `coordinator.heartbeat_timeout: "forever" is not a duration`);
    assertIncludes(lines.join("\n"), `(from file ${path})`);
    assertIncludes(lines.join("\n"), "(from flag --ws-ping-interval)");
    assertIncludes(lines.join("\n"), "coordinator.log_level");
    assertIncludes(lines.join("\n"), "(from env MITOSIS_LOG_LEVEL)");
  });
});

Deno.test("a missing explicit config file, broken TOML and unknown flags are clear errors", async () => {
  for (const args of [["--config", "/nonexistent/mitosis.toml"], ["--no-such-flag"]]) {
    let error: unknown;
    try {
      loadConfig("coordinator", coordinatorFields, { args, env: {} });
    } catch (e) {
      error = e;
    }
    assertTrue(error instanceof ConfigError, `args ${args.join(" ")}`);
  }
  await withConfigFile(`[coordinator\nbind = `, (path) => {
    let error: unknown;
    try {
      loadConfig("coordinator", coordinatorFields, { args: ["--config", path], env: {} });
    } catch (e) {
      error = e;
    }
    assertTrue(error instanceof ConfigError);
    assertIncludes((error as ConfigError).message, path);
  });
});

Deno.test("human durations parse and format", () => {
  assertEquals(parseDuration("90s"), 90_000);
  assertEquals(parseDuration("3m"), 180_000);
  assertEquals(parseDuration("7d"), 604_800_000);
  assertEquals(parseDuration("1h30m"), 5_400_000);
  assertEquals(parseDuration("10min"), 600_000);
  assertEquals(parseDuration("1h 30m 5s"), 5_405_000);
  assertEquals(parseDuration("250ms"), 250);
  assertEquals(parseDuration("600"), 600_000);
  for (const bad of ["", "soon", "5 parsecs", "m5", "1h-30m"]) assertEquals(parseDuration(bad), null, bad);
  assertEquals(formatDuration(5_400_000), "1h30m");
  assertEquals(formatDuration(0), "0s");
  assertEquals(formatDuration(1_500), "1s500ms");
});

Deno.test("byte sizes use decimal and binary units", () => {
  assertEquals(parseSize("10GB"), 10_000_000_000);
  assertEquals(parseSize("1GiB"), 1_073_741_824);
  assertEquals(parseSize("512"), 512);
  assertEquals(parseSize("1.5kb"), 1500);
  assertEquals(parseSize("10 XB"), null);
  assertEquals(parseSize("-1GB"), null);
});

Deno.test("timestamps use the existing wire format and round-trip", () => {
  const date = new Date(Date.UTC(2025, 10, 21, 2, 53, 11, 123));
  assertEquals(formatTimestamp(date), "2025-11-21 02:53:11.123 +00:00:00");
  assertEquals(formatTimestamp(new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 0))), "2025-01-02 03:04:05.0 +00:00:00");
  assertEquals(parseTimestamp("2025-11-21 02:53:11.123456 +00:00:00")?.getTime(), date.getTime());
  assertEquals(parseTimestamp("2025-11-21 04:53:11.123 +02:00:00")?.getTime(), date.getTime());
  assertEquals(parseTimestamp("2025-11-21T02:53:11Z"), null);
});
