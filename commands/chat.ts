import { buildPrompt } from "../src/chat/prompt.js";
import { foldOldTurns, overflows } from "../src/chat/summary.js";
import { estimateTokens } from "../src/chat/tokens.js";
import { isParleyError, ParleyError } from "../src/core/errors.js";
import { readAttachments, type AttachedFile } from "../src/chat/attachments.js";
import { resolveLlmSetup } from "../src/llm/setup.js";
import type { Transcriber } from "../src/llm/transcription.js";
import type { Command, Reply } from "../src/core/types.js";
import type { TokenUsage } from "../src/llm/types.js";
import type { ModelChoice } from "../src/llm/router.js";
import { lowerFirst } from "../src/chat/budgets.js";
import { targetName } from "../src/llm/setup.js";
import { AnswerStream } from "../src/llm/answer.js";
import type { Services } from "../src/core/services.js";
import { isStoreUnavailable } from "../src/store/guard.js";
import type { Memory } from "../src/store/types.js";
import { currentPersona } from "./persona.js";

/** The channel's facts for one prompt: the best matches for the text, then the newest (see `MemoryBook.forPrompt`). */
function promptMemories(services: Services, channel: string, text: string): Promise<Memory[]> {
  return services.memories.forPrompt(channel, text, services.config.memories.inPrompt);
}

/** Zero-width and other invisible characters, which `trim()` keeps: a message of only these says nothing. */
const INVISIBLE = /[\s\u200b-\u200f\u2060-\u2064\ufeff\u00ad]/gu;

/** Talk to the model with the channel's persona, history and memories. */
export const chat: Command = {
  name: "chat",
  description: "Talk to the model",
  usage: "chat <text>",
  options: [{ name: "text", description: "What to say", required: true }],
  callsModel: true,
  async run({ message, reply, args, services, signal }) {
    const { config, history, usage, llm, budgets } = services;
    const channel = message.channel.key;
    const own = message.attachments ?? [];
    const files = [...own, ...(message.replyTo?.attachments ?? [])];
    if (!args.replace(INVISIBLE, "") && own.length === 0) {
      await reply.send(`Say something after ${config.prefixes[0]}chat, or just write to me. Send ${config.prefixes[0]}help for commands.`);
      return;
    }
    // Images, text files and voice: what the model gets of them, what the user is told, what the history keeps.
    const read = files.length > 0 ? await readAttachments(files, config.attachments, signal) : undefined;
    const notes = [...(read?.notes ?? [])];
    let heard: string | undefined;
    const voice = read?.audio.find((a) => own.some((o) => o === a));
    if (voice) {
      const result = await transcribe(services, voice, signal);
      if ("text" in result) heard = result.text;
      else notes.push(result.note);
    }
    const images = read?.images ?? [];
    const question = args.trim() || heard || (images.length === 1 ? "Describe this image." : images.length > 1 ? "Describe these images." : read?.text ? "Here is a file." : "");
    if (!question) {
      await reply.send(notes.join(" ") || "There was nothing I could read in that message.");
      return "unanswered";
    }
    const asked = read?.text ? `${question}\n\n${read.text}` : question;
    // Independent reads, side by side: on Redis each is a round trip.
    const [persona, window, facts] = await Promise.all([
      currentPersona(services, channel),
      history.window(channel, config.history.promptMessages),
      promptMemories(services, channel, question),
    ]);
    // Hybrid routing weighs the history a message carries: the summary and the turns sent with it.
    const historyTokens = window.turns.reduce((sum, t) => sum + estimateTokens(t.turn.content), estimateTokens(window.summary ?? ""));
    let choice = llm.choose(persona, question, historyTokens, { hasImages: images.length > 0 });
    const messages = buildPrompt({
      persona,
      history: window.turns.map((t) => t.turn),
      memories: facts,
      summary: window.summary,
      shared: !message.channel.private,
      user: { name: message.author.name, text: asked },
      replyTo: message.replyTo?.text.trim() ? { name: message.replyTo.author.name, text: message.replyTo.text } : undefined,
      historyTokens: config.history.promptTokens,
      // Known for Ollama (num_ctx): a history that would not fit the window is cut here, not silently by the server.
      windowTokens: await choice.provider.contextTokens?.(choice.model, signal),
    });

    const estimatedPrompt = messages.reduce((sum, m) => sum + estimateTokens(m.content), 0);
    const check = (c: ModelChoice) =>
      budgets.check(message.author.key, channel, {
        tokens: estimatedPrompt,
        cost: llm.costOf(targetName({ provider: c.provider.name, model: c.model }), { promptTokens: estimatedPrompt, completionTokens: 0 }),
      });
    let spend = await check(choice);
    let note: string | undefined;
    const simpler = spend.ok !== true && spend.spent && choice.complexity && choice.complexity.class !== "simple" ? llm.hybridSimple(choice.complexity) : undefined;
    if (simpler && spend.ok !== true) {
      // The bot's budget is spent: with hybrid routing, the simple target answers what the complex one would have.
      const reached = spend.spent!;
      spend = await check(simpler);
      if (spend.ok === true) {
        choice = simpler;
        note = `answered by ${targetName({ provider: simpler.provider.name, model: simpler.model })}: ${lowerFirst(reached)}`;
      }
    }
    if (spend.ok === false) throw new ParleyError("budget_exceeded", spend.message);
    if (spend.ok === "free") {
      choice = llm.named(spend.model);
      note = spend.note;
    }
    let sendImages = images.length > 0;
    if (sendImages) {
      // A model is never sent images it cannot take: the vision model answers, or the images are left out, saying why.
      const vision = await llm.visionChoice(choice, signal);
      if ("choice" in vision) choice = vision.choice;
      else {
        sendImages = false;
        if (!args.trim() && !heard) {
          await reply.send([vision.refuse, ...notes].join(" "));
          return "unanswered";
        }
        notes.unshift(vision.refuse);
      }
    }
    if (sendImages) messages[messages.length - 1] = { ...messages[messages.length - 1]!, images };

    const answer = new AnswerStream(llm.chat(choice, messages, { temperature: persona.temperature, signal }));
    reply.typing();
    const header = [...(heard !== undefined ? [`> 🎤 ${heard}`] : []), ...(notes.length > 0 ? [`*(${notes.join(" ")})*`] : [])];
    await reply.stream(withHeader(header, withFooter(answer.shown(), answer, note, config.llm.showModel)));
    const complexity = choice.complexity;
    const record = async (tokens: TokenUsage, target?: string) => {
      const cost = target ? llm.costOf(target, tokens) : 0;
      // What answering with the complex target would have cost, for the savings `status` shows.
      const complexTarget = llm.hybridTargets?.complex;
      const hybrid = complexity && target ? { class: complexity.class, saved: complexTarget ? llm.costOf(complexTarget, tokens) - cost : 0 } : undefined;
      const spent = await usage.record({ userKey: message.author.key, channelKey: channel, ...tokens, cost, model: target, hybrid });
      // Undefined: the store is away and the counts are kept for when it is back; today's totals are not known.
      return spent && budgets.afterAnswer(spent, { tokens: tokens.promptTokens + tokens.completionTokens, cost });
    };
    const estimated = { promptTokens: estimatedPrompt, completionTokens: estimateTokens(answer.text) };
    if (answer.cut || !answer.done) {
      // Half an answer is not stored (the next prompt would build on it), but its tokens were spent.
      services.log[answer.cut?.code === "stopped" ? "info" : "warn"]({ channel, code: answer.cut?.code, detail: answer.cut?.message }, "answer cut off; not stored");
      await sendHeadsUp(reply, await record(estimated));
      return;
    }
    const { usage: reported, target } = answer.done;
    if (!reported) services.log.debug({ model: target }, "provider reported no token usage; recorded an estimate");
    if (!answer.text.trim()) {
      // Nothing to store, but the server counted the prompt all the same; the user's request is given back.
      await record(reported ?? estimated, target);
      await reply.send("The model gave an empty answer; try rephrasing.");
      return "unanswered";
    }

    const now = Date.now();
    // The history keeps the words and a placeholder for each attachment, never the bytes.
    const said = [question, ...(read?.placeholders ?? [])].join(" ");
    await history.append(channel, [
      { role: "user", content: said, author: message.author.name, at: now },
      { role: "assistant", content: answer.text, at: now },
    ]);
    const headsUp = await record(reported ?? estimated, target);
    // The window read above held every turn not yet summarised unless it was full; then the fold looks for itself.
    const pending = [...window.turns.map((t) => t.turn.content), said, answer.text];
    if (window.turns.length >= config.history.promptMessages || overflows(config.history, window.summary, pending)) {
      // The answer is out: a store that went away is logged, not told; the fold is tried again after a later message.
      await foldOldTurns(services, channel).catch((e: unknown) => {
        if (!isStoreUnavailable(e)) throw e;
        services.log.warn({ err: e, channel }, "store unreachable: older turns not summarised this time");
      });
    }
    await sendHeadsUp(reply, headsUp);
  },
};

/** Lines shown above the answer (what was heard, what was not read), then the answer. */
async function* withHeader(lines: readonly string[], stream: AsyncIterable<string>): AsyncGenerator<string> {
  if (lines.length > 0) yield `${lines.join("\n")}\n\n`;
  yield* stream;
}

/** The transcriber of each configuration, made at its first voice message. */
const transcribers = new WeakMap<Services["config"], Transcriber>();

/** The words of a voice message, or the sentence saying why there are none. */
async function transcribe(services: Services, voice: AttachedFile, signal?: AbortSignal): Promise<{ text: string } | { note: string }> {
  const { config } = services;
  const ref = config.llm.transcription;
  if (!ref) return { note: "Voice messages are not set up here: a moderator can name a transcription model in llm.transcription (LLM_TRANSCRIPTION)." };
  let transcriber = transcribers.get(config);
  if (!transcriber) {
    // The openai client is imported when the first voice message comes.
    const { createTranscriber } = await import("../src/llm/transcription.js");
    const made = createTranscriber(ref, resolveLlmSetup(config.llm, config.embedded));
    if ("problem" in made) return { note: "Voice messages are not set up correctly here." };
    transcribers.set(config, (transcriber = made));
  }
  try {
    const audio = await voice.fetch(config.attachments.maxAudioBytes, signal);
    const text = await transcriber.transcribe(audio, voice.name, signal);
    return text ? { text } : { note: `I heard nothing in ${voice.name}.` };
  } catch (e) {
    if (!isParleyError(e)) throw e;
    services.log.warn({ code: e.code, detail: e.message }, "voice message not transcribed");
    return { note: `I couldn't transcribe ${voice.name}: ${lowerFirst(e.userMessage)}` };
  }
}

/**
 * The answer, then (when there was a whole answer) a note saying why
 * another model gave it, and with `showModel` the model that answered.
 * Neither is part of the answer that is stored.
 */
async function* withFooter(shown: AsyncIterable<string>, answer: AnswerStream, note: string | undefined, showModel: boolean): AsyncGenerator<string> {
  yield* shown;
  if (!answer.text.trim() || answer.cut) return;
  if (note) yield `\n\n*(${note})*`;
  const target = answer.done?.target;
  if (showModel && target) yield `\n\n*— ${target}*`;
}

async function sendHeadsUp(reply: Reply, line: string | undefined): Promise<void> {
  if (line) await reply.send(line);
}
