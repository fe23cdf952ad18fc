/**
 * The discord.js client as Parley needs it: the intents for guild messages,
 * their content and DMs; DM channels arriving as partials; mentions in
 * anything we send parsed for nobody (set on the client so that every send,
 * edit and follow-up carries it, whatever the model wrote); gateway packets
 * completed where a server left out what discord.js needs.
 */
import { Client, Events, GatewayIntentBits, Partials } from "discord.js";
import { ParleyError } from "../../core/errors.js";
import { completeIncomingPackets } from "./packets.js";

/** A client as described above; `apiUrl` moves REST and, through it, the gateway. */
export function createDiscordClient(apiUrl: string | undefined): Client {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
      GatewayIntentBits.DirectMessages,
    ],
    partials: [Partials.Channel],
    allowedMentions: { parse: [], repliedUser: false },
    // Answering a message that was deleted meanwhile should still answer.
    failIfNotExists: false,
    ...(apiUrl ? { rest: { api: restBase(apiUrl) } } : {}),
  });
  completeIncomingPackets(client);
  return client;
}

/**
 * DISCORD_API_URL as discord.js wants it: without the version, which it
 * appends. People copy Discord's documented base (`…/api/v10`) or add a
 * trailing slash; both would double a part of every path.
 */
export function restBase(apiUrl: string): string {
  return apiUrl.replace(/\/+$/, "").replace(/\/v\d+$/, "");
}

/** Logs in and waits for `clientReady` (all guilds received), or fails within `timeoutMs`. */
export async function connect(client: Client, token: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    client.once(Events.ClientReady, () => resolve());
    timer = setTimeout(() => reject(new ParleyError("platform_error", "Discord did not become ready in time.")), timeoutMs);
  });
  try {
    await client.login(token);
    await ready;
  } catch (error) {
    throw loginError(error);
  } finally {
    clearTimeout(timer);
  }
}

function loginError(error: unknown): ParleyError {
  if (error instanceof ParleyError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === "TokenInvalid" || (error as { status?: unknown }).status === 401) {
    return new ParleyError("platform_error", "Discord refused the bot token; check DISCORD_TOKEN.");
  }
  // discord.js reports close code 4014 as this plain error.
  if (code === "DisallowedIntents" || (error instanceof Error && /disallowed intents/i.test(error.message))) {
    return new ParleyError("platform_error", "Discord refused the gateway intents; enable the Message Content intent for the bot in the developer portal.");
  }
  const reason = error instanceof Error ? error.message.replace(/https?:\/\/\S+/g, "<url>") : String(error);
  return new ParleyError("platform_error", "Could not connect to Discord.", { retryable: true, detail: `Could not connect to Discord: ${reason}` });
}
