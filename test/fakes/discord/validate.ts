/** The checks Discord applies to a message body before it creates or edits a message. */
import { contentTooLong, emptyMessage, type DiscordErrorAnswer } from "./errors.js";

export interface MessageBody {
  content?: string;
  embeds?: unknown[];
  attachments?: unknown[];
  sticker_ids?: unknown[];
  components?: unknown[];
  poll?: unknown;
  allowed_mentions?: unknown;
  message_reference?: { message_id?: string; fail_if_not_exists?: boolean };
  flags?: number;
}

/** A create must carry something; an edit may leave content out (it keeps the old text). */
export function checkMessageBody(body: MessageBody | undefined, maxLength: number, isEdit: boolean): DiscordErrorAnswer | undefined {
  const content = body?.content;
  // Discord counts UTF-16 code units here, like String#length.
  if (typeof content === "string" && content.length > maxLength) return contentTooLong(maxLength);
  const hasOther =
    (body?.embeds?.length ?? 0) > 0 ||
    (body?.attachments?.length ?? 0) > 0 ||
    (body?.sticker_ids?.length ?? 0) > 0 ||
    (body?.components?.length ?? 0) > 0 ||
    body?.poll !== undefined;
  const emptyText = typeof content !== "string" || content.trim().length === 0;
  if (isEdit) {
    if (typeof content === "string" && emptyText && !hasOther) return emptyMessage;
    return undefined;
  }
  if (emptyText && !hasOther) return emptyMessage;
  return undefined;
}
