/**
 * Application command registration as Discord checks it: bulk overwrite
 * (PUT) replaces the whole set, names and descriptions are validated, and
 * Discord adds ids, the application id and a version.
 */
import type { DiscordErrorAnswer } from "./errors.js";
import { nextSnowflake } from "./snowflake.js";
import type { ApplicationCommandRecord } from "./world.js";

const NAME = /^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

type Json = Record<string, unknown>;

/** Validates a bulk overwrite body; returns Discord's 50035 error or the records to store. */
export function overwriteCommands(
  body: unknown,
  applicationId: string,
  guildId: string | undefined,
): DiscordErrorAnswer | ApplicationCommandRecord[] {
  if (!Array.isArray(body)) return formError({ _errors: [{ code: "BASE_TYPE_ARRAY", message: "Must be an array." }] });
  const errors: Json = {};
  const seen = new Set<string>();
  body.forEach((raw: unknown, index) => {
    const command = (raw ?? {}) as Json;
    const problems = commandProblems(command);
    if (typeof command.name === "string") {
      if (seen.has(command.name)) problems.name = fieldError("APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique");
      seen.add(command.name);
    }
    if (Object.keys(problems).length > 0) errors[String(index)] = problems;
  });
  if (Object.keys(errors).length > 0) return formError(errors);
  return body.map((raw: unknown) => {
    const command = raw as Json;
    const id = nextSnowflake();
    return {
      id,
      json: {
        ...command,
        id,
        application_id: applicationId,
        version: nextSnowflake(),
        type: command.type ?? 1,
        default_member_permissions: command.default_member_permissions ?? null,
        ...(guildId ? { guild_id: guildId } : {}),
        nsfw: false,
      },
    };
  });
}

function commandProblems(command: Json): Json {
  const problems: Json = {};
  if (typeof command.name !== "string" || !NAME.test(command.name) || command.name !== command.name.toLowerCase()) {
    problems.name = fieldError("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid");
  }
  if (typeof command.description !== "string" || command.description.length < 1 || command.description.length > 100) {
    problems.description = fieldError("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
  }
  const permissions = command.default_member_permissions;
  if (permissions !== undefined && permissions !== null && (typeof permissions !== "string" || !/^\d+$/.test(permissions))) {
    problems.default_member_permissions = fieldError("BASE_TYPE_BAD_INT", "Value is not a valid integer.");
  }
  const options = command.options;
  if (options !== undefined) {
    if (!Array.isArray(options) || options.length > 25) {
      problems.options = fieldError("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
    } else {
      const optionErrors: Json = {};
      let seenOptional = false;
      options.forEach((raw: unknown, index) => {
        const option = (raw ?? {}) as Json;
        const optionProblems: Json = {};
        if (typeof option.name !== "string" || !NAME.test(option.name) || option.name !== option.name.toLowerCase()) {
          optionProblems.name = fieldError("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid");
        }
        if (typeof option.description !== "string" || option.description.length < 1 || option.description.length > 100) {
          optionProblems.description = fieldError("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.");
        }
        if (typeof option.type !== "number") optionProblems.type = fieldError("BASE_TYPE_REQUIRED", "This field is required");
        if (option.required === true && seenOptional) {
          optionProblems.required = fieldError("APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options");
        }
        if (option.required !== true) seenOptional = true;
        if (Object.keys(optionProblems).length > 0) optionErrors[String(index)] = optionProblems;
      });
      if (Object.keys(optionErrors).length > 0) problems.options = optionErrors;
    }
  }
  return problems;
}

function fieldError(code: string, message: string): Json {
  return { _errors: [{ code, message }] };
}

function formError(errors: Json): DiscordErrorAnswer {
  return { status: 400, body: { message: "Invalid Form Body", code: 50035, errors } };
}
