/**
 * A Discord message's attachments as the core sees them: kind, name, type
 * and size from what discord.js holds, bytes fetched on demand from the URL
 * Discord gave, and only from Discord's CDN (or the host Discord's API was
 * moved to, for a test server).
 */
import { MessageFlags, type Message } from "discord.js";
import { ParleyError } from "../../core/errors.js";
import type { Attachment } from "../../core/types.js";
import { attachmentKind } from "../shared/attachment-kind.js";
import { download } from "../shared/download.js";

/** Where Discord serves attachments from. */
const DISCORD_FILE_HOSTS = ["cdn.discordapp.com", "media.discordapp.net"];

/**
 * The message's attachments, or undefined when it has none. `extraHosts`
 * are hosts besides Discord's CDN that downloads may come from.
 */
export function attachmentsOf(message: Message, extraHosts: readonly string[] = []): Attachment[] | undefined {
  if (message.attachments.size === 0) return undefined;
  // A voice message is one audio attachment on a message flagged as such.
  const voice = message.flags.has(MessageFlags.IsVoiceMessage);
  const hosts = new Set([...DISCORD_FILE_HOSTS, ...extraHosts]);
  return [...message.attachments.values()].map((file) => {
    const mimeType = file.contentType ?? undefined;
    return {
      kind: voice || file.duration !== null ? "audio" : attachmentKind(mimeType, file.name),
      name: file.name,
      ...(mimeType ? { mimeType } : {}),
      size: file.size,
      fetch: (maxBytes, signal) => {
        if (!hosts.has(hostOf(file.url))) {
          return Promise.reject(
            new ParleyError("platform_error", `I couldn't download ${file.name} from Discord.`, {
              detail: `attachment ${file.id} is not on Discord's CDN (${hostOf(file.url)})`,
            }),
          );
        }
        return download({ url: file.url, name: file.name, platform: "Discord", maxBytes, signal });
      },
    } satisfies Attachment;
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}
