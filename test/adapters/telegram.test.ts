import { afterEach, describe, expect, it } from "vitest";
import { startRig, type TelegramRig } from "./telegram-harness.js";

let rig: TelegramRig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

describe("telegram smoke", () => {
  it("answers a private message", async () => {
    rig = await startRig();
    const { tg } = rig;
    rig.behaviour = async (m, reply) => reply.send(`you said: ${m.text}`);
    const ada = tg.user({ first_name: "Ada", last_name: "Lovelace" });
    tg.privateMessage(ada, "hello");
    await rig.waitReceived(1);
    await tg.waitFor(() => tg.botTexts(ada.id).length > 0);
    expect(tg.botTexts(ada.id)).toEqual(["you said: hello"]);
    expect(rig.received[0]!.message.author.name).toBe("Ada Lovelace");
  });
});
