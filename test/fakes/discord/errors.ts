/** Discord's JSON error bodies, in the shapes its API returns them. */

export interface DiscordErrorAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function invalidFormBody(field: string, code: string, message: string): DiscordErrorAnswer {
  return {
    status: 400,
    body: { message: "Invalid Form Body", code: 50035, errors: { [field]: { _errors: [{ code, message }] } } },
  };
}

export const contentTooLong = (maxLength: number): DiscordErrorAnswer =>
  invalidFormBody("content", "BASE_TYPE_MAX_LENGTH", `Must be ${maxLength} or fewer in length.`);

export const emptyMessage: DiscordErrorAnswer = { status: 400, body: { message: "Cannot send an empty message", code: 50006 } };
export const unknownChannel: DiscordErrorAnswer = { status: 404, body: { message: "Unknown Channel", code: 10003 } };
export const unknownGuild: DiscordErrorAnswer = { status: 404, body: { message: "Unknown Guild", code: 10004 } };
export const unknownMember: DiscordErrorAnswer = { status: 404, body: { message: "Unknown Member", code: 10007 } };
export const unknownMessage: DiscordErrorAnswer = { status: 404, body: { message: "Unknown Message", code: 10008 } };
export const unknownUser: DiscordErrorAnswer = { status: 404, body: { message: "Unknown User", code: 10013 } };
export const unknownWebhook: DiscordErrorAnswer = { status: 404, body: { message: "Unknown Webhook", code: 10015 } };
export const unknownInteraction: DiscordErrorAnswer = { status: 404, body: { message: "Unknown interaction", code: 10062 } };
export const alreadyAcknowledged: DiscordErrorAnswer = {
  status: 400,
  body: { message: "Interaction has already been acknowledged.", code: 40060 },
};
export const cannotEditOthers: DiscordErrorAnswer = {
  status: 403,
  body: { message: "Cannot edit a message authored by another user", code: 50005 },
};
export const unauthorized: DiscordErrorAnswer = { status: 401, body: { message: "401: Unauthorized", code: 0 } };
export const notFound: DiscordErrorAnswer = { status: 404, body: { message: "404: Not Found", code: 0 } };
export const missingPermissions: DiscordErrorAnswer = { status: 403, body: { message: "Missing Permissions", code: 50013 } };
export const cannotReplyWithoutHistory: DiscordErrorAnswer = {
  status: 400,
  body: { message: "Cannot reply without permission to read message history", code: 160002 },
};
