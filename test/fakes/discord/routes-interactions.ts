/**
 * REST routes for slash commands: registering application commands,
 * answering interactions within their deadline, and the interaction webhook
 * (original response edits and follow-ups).
 */
import { overwriteCommands } from "./commands.js";
import {
  alreadyAcknowledged,
  invalidFormBody,
  unknownGuild,
  unknownInteraction,
  unknownMessage,
  unknownWebhook,
} from "./errors.js";
import { messageJson, pingsFor } from "./payloads.js";
import type { Route, RouteAnswer, RouteContext } from "./rest.js";
import { checkMessageBody, type MessageBody } from "./validate.js";
import type { FakeInteraction, StoredMessage } from "./world.js";

const ID = "(\\d{15,21})";
const TOKEN = "([A-Za-z0-9_.-]+)";

/** Interaction callback types (Discord's InteractionResponseType). */
export const CallbackType = {
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  ApplicationCommandAutocompleteResult: 8,
} as const;

const LOADING_FLAG = 1 << 7;

export const interactionRoutes: Route[] = [
  {
    method: "PUT",
    pattern: new RegExp(`^/applications/${ID}/commands$`),
    handle: (ctx) => {
      if (ctx.params[0] !== ctx.world.applicationId) return { status: 403, body: { message: "Missing Access", code: 50001 } };
      const records = overwriteCommands(ctx.body, ctx.world.applicationId, undefined);
      if (!Array.isArray(records)) return records;
      ctx.world.globalCommands.splice(0, ctx.world.globalCommands.length, ...records);
      return { status: 200, body: records.map((r) => r.json) };
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/applications/${ID}/commands$`),
    handle: (ctx) => ({ status: 200, body: ctx.world.globalCommands.map((r) => r.json) }),
  },
  {
    method: "PUT",
    pattern: new RegExp(`^/applications/${ID}/guilds/${ID}/commands$`),
    handle: (ctx) => {
      if (ctx.params[0] !== ctx.world.applicationId) return { status: 403, body: { message: "Missing Access", code: 50001 } };
      const guildId = ctx.params[1] ?? "";
      if (!ctx.world.guilds.has(guildId)) return unknownGuild;
      const records = overwriteCommands(ctx.body, ctx.world.applicationId, guildId);
      if (!Array.isArray(records)) return records;
      ctx.world.guildCommands.set(guildId, records);
      return { status: 200, body: records.map((r) => r.json) };
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/applications/${ID}/guilds/${ID}/commands$`),
    handle: (ctx) => ({ status: 200, body: (ctx.world.guildCommands.get(ctx.params[1] ?? "") ?? []).map((r) => r.json) }),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/interactions/${ID}/${TOKEN}/callback$`),
    noAuth: true,
    handle: interactionCallback,
  },
  {
    method: "GET",
    pattern: new RegExp(`^/webhooks/${ID}/${TOKEN}/messages/(@original|\\d{15,21})$`),
    noAuth: true,
    handle: (ctx) => {
      const found = webhookMessage(ctx);
      return "status" in found ? found : { status: 200, body: messageJson(ctx.world, found.message) };
    },
  },
  {
    method: "PATCH",
    pattern: new RegExp(`^/webhooks/${ID}/${TOKEN}/messages/(@original|\\d{15,21})$`),
    noAuth: true,
    bucket: { key: "PATCH /webhooks/:id/:token/messages/:id", majorParam: 1, limit: (s) => s.webhookBucket },
    handle: editWebhookMessage,
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/webhooks/${ID}/${TOKEN}/messages/(@original|\\d{15,21})$`),
    noAuth: true,
    handle: (ctx) => {
      const found = webhookMessage(ctx);
      if ("status" in found) return found;
      const list = ctx.world.messages.get(found.message.channelId) ?? [];
      list.splice(list.indexOf(found.message), 1);
      return { status: 204 };
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/webhooks/${ID}/${TOKEN}$`),
    noAuth: true,
    bucket: { key: "POST /webhooks/:id/:token", majorParam: 1, limit: (s) => s.webhookBucket },
    handle: followUp,
  },
];

function interactionCallback(ctx: RouteContext): RouteAnswer {
  const interaction = ctx.world.interactions.get(ctx.params[0] ?? "");
  if (!interaction || interaction.token !== ctx.params[1]) return unknownInteraction;
  if (Date.now() - interaction.sentAtMs > ctx.settings.interactionDeadlineMs) return unknownInteraction;
  if (interaction.callbackType !== undefined) return alreadyAcknowledged;
  const body = (ctx.body ?? {}) as { type?: number; data?: Record<string, unknown> };

  let created: StoredMessage | undefined;
  switch (body.type) {
    case CallbackType.ChannelMessageWithSource: {
      const data = body.data as MessageBody | undefined;
      const problem = checkMessageBody(data, ctx.settings.maxLength, false);
      if (problem) return prefixErrors(problem, "data");
      created = storeInteractionMessage(ctx, interaction, (data?.content ?? "").trim(), data);
      break;
    }
    case CallbackType.DeferredChannelMessageWithSource: {
      const flags = Number((body.data as { flags?: number } | undefined)?.flags ?? 0);
      created = storeInteractionMessage(ctx, interaction, "", { flags: flags | LOADING_FLAG });
      break;
    }
    case CallbackType.ApplicationCommandAutocompleteResult: {
      const choices = (body.data as { choices?: { name: string; value: string }[] } | undefined)?.choices ?? [];
      if (choices.length > 25) return invalidFormBody("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
      interaction.choices = choices;
      break;
    }
    case CallbackType.DeferredUpdateMessage:
    case CallbackType.UpdateMessage:
      break;
    default:
      return invalidFormBody("type", "BASE_TYPE_CHOICES", `Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.`);
  }
  interaction.callbackType = body.type;
  interaction.callbackAtMs = Date.now();
  if (created) interaction.originalMessageId = created.id;
  if (ctx.query.with_response === "true") {
    return {
      status: 200,
      body: {
        interaction: { id: interaction.id, type: interaction.type, response_message_loading: body.type === 5, response_message_ephemeral: false },
        resource: { type: body.type, ...(created ? { message: messageJson(ctx.world, created) } : {}) },
      },
    };
  }
  return { status: 204 };
}

function storeInteractionMessage(ctx: RouteContext, interaction: FakeInteraction, content: string, data: MessageBody | undefined) {
  const stored = ctx.world.storeMessage({
    channelId: interaction.channelId,
    guildId: interaction.guildId,
    authorId: ctx.world.bot.id,
    content,
    webhookId: ctx.world.applicationId,
    allowedMentions: data?.allowed_mentions,
    pings: pingsFor(content, data?.allowed_mentions, false),
    flags: data?.flags ?? 0,
    interactionId: interaction.id,
  });
  ctx.onMessageCreate(stored);
  return stored;
}

function webhookMessage(ctx: RouteContext): { message: StoredMessage; interaction: FakeInteraction } | RouteAnswer {
  if (ctx.params[0] !== ctx.world.applicationId) return unknownWebhook;
  const interaction = ctx.world.interactionByToken(ctx.params[1] ?? "");
  if (!interaction) return unknownWebhook;
  const which = ctx.params[2];
  const messageId = which === "@original" ? interaction.originalMessageId : which;
  const message = messageId ? ctx.world.message(interaction.channelId, messageId) : undefined;
  if (!message || message.interactionId !== interaction.id) return unknownMessage;
  return { message, interaction };
}

function editWebhookMessage(ctx: RouteContext): RouteAnswer {
  const found = webhookMessage(ctx);
  if ("status" in found) return found;
  const body = ctx.body as MessageBody | undefined;
  const problem = checkMessageBody(body, ctx.settings.maxLength, true);
  if (problem) return problem;
  const message = found.message;
  // Discord trims what it stores, as on create.
  if (typeof body?.content === "string") message.content = body.content.trim();
  if (body && "allowed_mentions" in body) message.allowedMentions = body.allowed_mentions;
  // The "is thinking…" state ends with the first edit.
  message.flags &= ~LOADING_FLAG;
  message.pings = pingsFor(message.content, message.allowedMentions, false);
  message.editedAtMs = Date.now();
  message.editCount++;
  return { status: 200, body: messageJson(ctx.world, message) };
}

function followUp(ctx: RouteContext): RouteAnswer {
  if (ctx.params[0] !== ctx.world.applicationId) return unknownWebhook;
  const interaction = ctx.world.interactionByToken(ctx.params[1] ?? "");
  // Follow-ups need an acknowledged interaction.
  if (!interaction || interaction.callbackType === undefined) return unknownWebhook;
  const body = ctx.body as MessageBody | undefined;
  const problem = checkMessageBody(body, ctx.settings.maxLength, false);
  if (problem) return problem;
  const stored = storeInteractionMessage(ctx, interaction, (body?.content ?? "").trim(), body);
  interaction.followUpIds.push(stored.id);
  return ctx.query.wait === "true" ? { status: 200, body: messageJson(ctx.world, stored) } : { status: 204 };
}

function prefixErrors(answer: RouteAnswer, field: string): RouteAnswer {
  const body = answer.body as { errors?: Record<string, unknown> } | undefined;
  if (!body?.errors) return answer;
  return { status: answer.status, body: { ...body, errors: { [field]: body.errors } } };
}
