import { Api, GrammyError, HttpError } from "grammy";

/** Asks Telegram who the token belongs to (`getMe`), for `parley doctor`. */
export async function checkTelegramToken(opts: { token: string; apiRoot?: string; timeoutMs?: number }): Promise<string> {
  const api = new Api(opts.token, { apiRoot: opts.apiRoot?.replace(/\/+$/, ""), timeoutSeconds: Math.ceil((opts.timeoutMs ?? 10_000) / 1000) });
  try {
    const me = await api.getMe();
    return `@${me.username}`;
  } catch (e) {
    // grammY's messages can carry the URL, and so the token: say only what went wrong.
    if (e instanceof GrammyError) throw new Error(e.error_code === 401 || e.error_code === 404 ? "Telegram refused the token (check TELEGRAM_BOT_TOKEN with @BotFather)" : `Telegram said: ${e.description}`);
    if (e instanceof HttpError) throw new Error("could not reach the Telegram Bot API (network or TELEGRAM_API_ROOT)");
    throw new Error("the getMe call failed");
  }
}
