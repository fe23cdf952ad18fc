/**
 * Slash commands: the core's commands as Discord application commands
 * (registered globally, or for one guild for instant updates while testing),
 * and a used command turned back into an `IncomingMessage` whose `command`
 * is already parsed, so the dispatcher needn't read text. Options that name
 * someone are Discord user pickers; the picked user comes back as `<@id>` in
 * the args, as a typed mention would, and in `mentions`.
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  PermissionFlagsBits,
  type APIApplicationCommandOption,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type Client,
  type CommandInteractionOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from "discord.js";
import type { Logger } from "pino";
import type { AdapterContext } from "../../core/adapter.js";
import type { Command, CommandOption, IncomingMessage, UserRef } from "../../core/types.js";
import { placeOf, rolesOf, userRefOf } from "./describe.js";
import { reasonOf } from "./errors.js";
import { isInteractionUserModerator, type ModeratorRules, type PermissionName } from "./moderators.js";
import { AUTOCOMPLETE_TIMEOUT_MS } from "./limits.js";

/** Discord's rule for command and option names. */
const VALID_NAME = /^[-_\p{Ll}\p{Lo}\p{N}]{1,32}$/u;
const MAX_DESCRIPTION = 100;
const MAX_CHOICES = 25;

/**
 * The application commands for `commands`. Moderator-only commands (also
 * those restricted only in some forms, like `persona NAME`) carry
 * `default_member_permissions`, so Discord hides them from other members;
 * the dispatcher still checks each use.
 */
export function toApplicationCommands(
  commands: readonly Command[],
  moderatorPermission: PermissionName,
  log: Logger,
): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const valid = commands.filter((command) => {
    const ok = VALID_NAME.test(command.name) && (command.options ?? []).every((o) => VALID_NAME.test(o.name));
    if (!ok) log.warn({ command: command.name }, "discord: a command or option name is not valid for a slash command; not registered");
    return ok;
  });
  return valid.map((command) => ({
    type: ApplicationCommandType.ChatInput,
    name: command.name,
    description: shorten(command.description),
    options: sortRequiredFirst(command.options ?? []).map(toApplicationOption),
    default_member_permissions: command.moderatorOnly ? PermissionFlagsBits[moderatorPermission].toString() : null,
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  }));
}

/** A user option is a member picker (Discord completes it itself); any other is text, with our completions when asked. */
function toApplicationOption(option: CommandOption): APIApplicationCommandOption {
  const common = { name: option.name, description: shorten(option.description), required: option.required ?? false };
  if (option.kind === "user") return { ...common, type: ApplicationCommandOptionType.User };
  return { ...common, type: ApplicationCommandOptionType.String, ...(option.autocomplete ? { autocomplete: true } : {}) };
}

/** Replaces the bot's commands: in one guild when `guildId` is set (instant), else globally. */
export async function registerCommands(
  client: Client<true>,
  definitions: RESTPostAPIChatInputApplicationCommandsJSONBody[],
  guildId: string | undefined,
): Promise<void> {
  if (guildId) await client.application.commands.set(definitions, guildId);
  else await client.application.commands.set(definitions);
}

/** A used slash command as the core sees it. */
export function interactionToMessage(
  interaction: ChatInputCommandInteraction,
  commands: readonly Command[],
  rules: ModeratorRules,
): IncomingMessage {
  const definition = commands.find((c) => c.name === interaction.commandName);
  // The definition's option order is the order `args` expects (`persona NAME`, `reset all`).
  const names = definition?.options?.map((o) => o.name) ?? interaction.options.data.map((o) => o.name);
  const botId = interaction.client.user.id;
  const mentions: UserRef[] = [];
  const args = names
    .map((name) => {
      const option = interaction.options.get(name);
      if (!option?.user) return optionText(option);
      if (option.user.id !== botId) mentions.push(userRefOf(option.user, option.member));
      return `<@${option.user.id}>`;
    })
    .filter((value) => value.length > 0)
    .join(" ");
  const member = interaction.member;
  const name =
    (member && "displayName" in member ? member.displayName : undefined) ??
    (member && "nick" in member ? member.nick : undefined) ??
    interaction.user.displayName;
  return {
    platform: "discord",
    channel: {
      key: `discord:${interaction.channelId}`,
      private: !interaction.inGuild(),
      title: interaction.channel && "name" in interaction.channel && interaction.channel.name ? interaction.channel.name : undefined,
    },
    place: placeOf(interaction.channelId, interaction.guildId, interaction.channel),
    author: { key: `discord:${interaction.user.id}`, name, ...(interaction.inGuild() ? { roles: rolesOf(member) } : {}) },
    text: `/${interaction.commandName}${args ? ` ${args}` : ""}`,
    addressed: true,
    command: { name: interaction.commandName, args },
    ...(mentions.length > 0 ? { mentions } : {}),
    isModerator: async () => isInteractionUserModerator(interaction, rules),
    raw: interaction,
  };
}

/** Offers completions for the focused option (persona names), within Discord's deadline. */
export async function answerAutocomplete(interaction: AutocompleteInteraction, ctx: AdapterContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  let names: string[] = [];
  try {
    names = await withTimeout(ctx.complete(interaction.commandName, focused.name, String(focused.value)), AUTOCOMPLETE_TIMEOUT_MS);
  } catch (error) {
    ctx.log.warn({ command: interaction.commandName, reason: reasonOf(error) }, "discord: autocomplete failed");
  }
  const choices = names.slice(0, MAX_CHOICES).map((n) => ({ name: n.slice(0, 100), value: n.slice(0, 100) }));
  await interaction.respond(choices);
}

/**
 * A text option's value, trimmed. Read untyped: a global command registered
 * by an older version may still send a user option as text, or the reverse,
 * for a while after an update, and a typed getter would throw.
 */
function optionText(option: CommandInteractionOption | null): string {
  return option?.value === undefined ? "" : String(option.value).trim();
}

function shorten(text: string): string {
  const oneLine = text.trim() || "—";
  return oneLine.length <= MAX_DESCRIPTION ? oneLine : `${oneLine.slice(0, MAX_DESCRIPTION - 1)}…`;
}

/** Discord requires required options before optional ones. */
function sortRequiredFirst<T extends { required?: boolean }>(options: readonly T[]): T[] {
  return [...options.filter((o) => o.required), ...options.filter((o) => !o.required)];
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no completions within ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
