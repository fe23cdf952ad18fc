/**
 * Who may use moderator-only commands in a group: its administrators and
 * creator, as Telegram lists them. The list is cached per chat so a busy
 * group does not ask Telegram on every `/reset`.
 */
import type { Api } from "grammy";
import { ParleyError } from "../../core/errors.js";

export class GroupModerators {
  private readonly cache = new Map<number, { ids: Set<number>; fetchedAt: number }>();
  private readonly pending = new Map<number, Promise<Set<number>>>();

  /**
   * @param api - grammY's API client
   * @param cacheMs - how long a chat's administrator list is trusted, in milliseconds
   * @param safeError - turns grammY's error into one without the token, to keep as the cause
   */
  constructor(
    private readonly api: Pick<Api, "getChatAdministrators">,
    private readonly cacheMs: number,
    private readonly safeError: (error: unknown) => Error,
  ) {}

  /** Whether `userId` administers (or created) the group `chatId`. */
  async isModerator(chatId: number, userId: number): Promise<boolean> {
    return (await this.adminsOf(chatId)).has(userId);
  }

  private async adminsOf(chatId: number): Promise<Set<number>> {
    const cached = this.cache.get(chatId);
    if (cached && Date.now() - cached.fetchedAt < this.cacheMs) return cached.ids;
    let pending = this.pending.get(chatId);
    if (!pending) {
      pending = this.fetch(chatId).finally(() => this.pending.delete(chatId));
      this.pending.set(chatId, pending);
    }
    return pending;
  }

  private async fetch(chatId: number): Promise<Set<number>> {
    try {
      const members = await this.api.getChatAdministrators(chatId);
      const ids = new Set(members.filter((m) => m.status === "creator" || m.status === "administrator").map((m) => m.user.id));
      this.cache.set(chatId, { ids, fetchedAt: Date.now() });
      return ids;
    } catch (cause) {
      throw new ParleyError("platform_error", "I couldn't check the group's admins with Telegram just now. Please try again.", {
        cause: this.safeError(cause),
        retryable: true,
        detail: `getChatAdministrators failed for chat ${chatId}`,
      });
    }
  }
}
