/** A command as the user wrote it: `/name args` or `!name args`. */
export interface ParsedCommand {
  name: string;
  args: string;
  /** The prefix used, so replies can show commands the way the user writes them. */
  prefix: string;
}

const commandName = /^([a-zA-Z][a-zA-Z0-9_-]{0,31})(?:@\S+)?(?:\s+([\s\S]*))?$/;

/**
 * Parses a command; returns undefined for plain text, which is `chat`.
 * `/name@botname args` (Telegram groups) is the same as `/name args`.
 */
export function parseCommand(text: string, prefixes: readonly string[]): ParsedCommand | undefined {
  const trimmed = text.trimStart();
  for (const prefix of prefixes) {
    if (!trimmed.startsWith(prefix)) continue;
    const match = commandName.exec(trimmed.slice(prefix.length).trimEnd());
    if (match) return { name: match[1]!.toLowerCase(), args: (match[2] ?? "").trim(), prefix };
  }
  return undefined;
}
