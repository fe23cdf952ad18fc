/**
 * A real Redis for the store tests: a `redis-server` on a free port of
 * 127.0.0.1 (no persistence), or the server at `REDIS_URL` when that is set.
 * A machine without redis-server fails these tests loudly; they never skip.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import net from "node:net";

export interface TestRedis {
  /** `redis://127.0.0.1:<port>` (or `REDIS_URL`). */
  url: string;
  port: number;
  /** Kills the server (a no-op for `REDIS_URL`). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered. */
  pause(): void;
  /** Unfreezes it (SIGCONT). */
  resume(): void;
}

export interface StartRedisOptions {
  /** Spawn a server even when `REDIS_URL` is set (tests that stop or freeze it). */
  ownServer?: boolean;
}

const readyTimeoutMs = 5_000;
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const outside = process.env.REDIS_URL;
  if (outside && !options.ownServer) return outsideServer(outside);
  requireRedisServer();

  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; !child; attempt++) {
    port = await freePort();
    try {
      child = await spawnServer(port);
    } catch (error) {
      // Another process may have taken the port between probing and binding it.
      if (attempt >= 3) throw error;
    }
  }
  let current: ChildProcess | undefined = child;
  const stop = async () => {
    if (current) await kill(current);
    current = undefined;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    async restart() {
      await stop();
      current = await spawnServer(port);
    },
    pause: () => current?.kill("SIGSTOP"),
    resume: () => current?.kill("SIGCONT"),
  };
}

/**
 * Sends one command over a fresh connection and resolves with the raw
 * RESP reply (`+OK\r\n`, `*2\r\n$3\r\nfoo…`): lets tests look at the keys
 * the stores really wrote, without going through the code under test.
 */
export function redisCommand(url: string, ...args: string[]): Promise<string> {
  const { hostname, port } = new URL(url);
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port) || 6379, hostname || "127.0.0.1");
    let reply = "";
    socket.setTimeout(2_000, () => socket.destroy(new Error(`redis did not answer ${args[0]}`)));
    socket.on("connect", () => socket.write(request));
    socket.on("data", (data) => {
      reply += data.toString("utf8");
      if (isComplete(reply)) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on("error", reject);
  });
}

/** The keys matching `pattern`, sorted. */
export async function redisKeys(url: string, pattern: string): Promise<string[]> {
  const reply = await redisCommand(url, "KEYS", pattern);
  return reply
    .split("\r\n")
    .filter((line, i, lines) => i > 0 && lines[i - 1]?.startsWith("$"))
    .sort();
}

function outsideServer(url: string): TestRedis {
  const cannot = () => {
    throw new Error("REDIS_URL points at a server these tests cannot stop; use startRedis({ ownServer: true }).");
  };
  return { url, port: Number(new URL(url).port) || 6379, stop: async () => {}, restart: async () => cannot(), pause: cannot, resume: cannot };
}

function requireRedisServer(): void {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "\n\n*** redis-server was not found on PATH. ***\n" +
        "The Redis store tests need a real Redis and are never skipped.\n" +
        "Install it (apt-get install redis-server; .ci/run does this) or set REDIS_URL=redis://host:port.\n",
    );
  }
}

async function spawnServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  child.once("exit", () => running.delete(child));
  let output = "";
  const keep = (data: Buffer) => (output = (output + data.toString("utf8")).slice(-2_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  const deadline = Date.now() + readyTimeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${child.exitCode}):\n${output}`);
    if (await answersPing(port)) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  await kill(child);
  throw new Error(`redis-server on port ${port} did not answer PING within ${readyTimeoutMs} ms:\n${output}`);
}

async function answersPing(port: number): Promise<boolean> {
  try {
    return (await redisCommand(`redis://127.0.0.1:${port}`, "PING")).startsWith("+PONG");
  } catch {
    return false;
  }
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGCONT"); // a frozen server would not act on SIGTERM
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a RESP reply has fully arrived (simple cases: one line, or a bulk/array of bulk strings). */
function isComplete(reply: string): boolean {
  if (!reply.endsWith("\r\n")) return false;
  const type = reply[0];
  if (type === "+" || type === "-" || type === ":") return true;
  if (type === "$") return reply.startsWith("$-1") || reply.split("\r\n").length >= 3;
  if (type === "*") {
    const count = Number(reply.slice(1, reply.indexOf("\r\n")));
    if (count <= 0) return true;
    return reply.split("\r\n").length - 2 >= count * 2;
  }
  return true;
}
