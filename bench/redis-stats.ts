/**
 * Reads Redis's own count of the commands it has processed, so a benchmark
 * can say how many round trips one message costs. A tiny RESP reader of its
 * own: the reply of INFO is a bulk string of many lines, which must be read
 * to its announced length.
 */
import net from "node:net";

/** `total_commands_processed` of the server at `url` (this INFO call included). */
export async function commandsProcessed(url: string): Promise<number> {
  const info = await bulkReply(url, ["INFO", "stats"]);
  const match = /^total_commands_processed:(\d+)/m.exec(info);
  if (!match) throw new Error("INFO stats has no total_commands_processed");
  return Number(match[1]);
}

function bulkReply(url: string, args: string[]): Promise<string> {
  const { hostname, port } = new URL(url);
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port) || 6379, hostname || "127.0.0.1");
    let received = Buffer.alloc(0);
    socket.setTimeout(2_000, () => socket.destroy(new Error(`redis did not answer ${args[0]}`)));
    socket.on("connect", () => socket.write(request));
    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const headerEnd = received.indexOf("\r\n");
      if (headerEnd < 0) return;
      const header = received.subarray(0, headerEnd).toString("latin1");
      if (!header.startsWith("$")) {
        socket.destroy();
        reject(new Error(`unexpected redis reply: ${header.slice(0, 100)}`));
        return;
      }
      const length = Number(header.slice(1));
      if (received.length < headerEnd + 2 + length) return;
      socket.end();
      resolve(received.subarray(headerEnd + 2, headerEnd + 2 + length).toString("utf8"));
    });
    socket.on("error", reject);
  });
}
