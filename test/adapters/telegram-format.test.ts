import { describe, expect, it } from "vitest";
import { escapeHtml, markdownToTelegramHtml, visibleText } from "../../src/adapters/telegram/format.js";
import { parseTelegramHtml } from "../fakes/telegram.js";

/** What Telegram would show for the rendering of `markdown` (throws like Telegram on bad HTML). */
const shown = (markdown: string) => parseTelegramHtml(markdownToTelegramHtml(markdown));

describe("markdownToTelegramHtml", () => {
  it("renders bold, italics, strikethrough, inline code, links and headings", () => {
    expect(markdownToTelegramHtml("**b** __b__ *i* _i_ ~~s~~ `c`")).toBe("<b>b</b> <b>b</b> <i>i</i> <i>i</i> <s>s</s> <code>c</code>");
    expect(markdownToTelegramHtml("## Setup *now*")).toBe("<b>Setup <i>now</i></b>");
    expect(markdownToTelegramHtml("see [the docs](https://grammy.dev/guide)")).toBe('see <a href="https://grammy.dev/guide">the docs</a>');
    expect(markdownToTelegramHtml("<https://example.com>")).toBe('<a href="https://example.com">https://example.com</a>');
    expect(markdownToTelegramHtml("> quoted **text**\n> more")).toBe("<blockquote>quoted <b>text</b>\nmore</blockquote>");
  });

  it("renders code blocks with their language, escaped, and keeps lists as text", () => {
    expect(markdownToTelegramHtml("```ts\nconst a = b < c && d > e;\n```")).toBe(
      '<pre><code class="language-ts">const a = b &lt; c &amp;&amp; d &gt; e;</code></pre>',
    );
    expect(markdownToTelegramHtml("~~~\nplain\n~~~")).toBe("<pre>plain</pre>");
    expect(markdownToTelegramHtml("- one\n* two\n1. three")).toBe("- one\n* two\n1. three");
    // Markdown inside code is code.
    expect(markdownToTelegramHtml("```\n**not bold**\n```")).toBe("<pre>**not bold**</pre>");
    expect(markdownToTelegramHtml("`**not bold**`")).toBe("<code>**not bold**</code>");
  });

  it("shows an unfinished code block (mid-stream) as code, and an empty one as nothing", () => {
    expect(markdownToTelegramHtml("Here:\n```python\nprint(1)")).toBe('Here:\n<pre><code class="language-python">print(1)</code></pre>');
    expect(markdownToTelegramHtml("Here:\n```python")).toBe("Here:\n");
  });

  it("nests formatting", () => {
    expect(markdownToTelegramHtml("**bold *and italic* bold**")).toBe("<b>bold <i>and italic</i> bold</b>");
    expect(markdownToTelegramHtml("***both***")).toBe("<b><i>both</i></b>");
    expect(markdownToTelegramHtml("*it **bold** it*")).toBe("<i>it <b>bold</b> it</i>");
    expect(markdownToTelegramHtml("[**bold link**](https://x.org)")).toBe('<a href="https://x.org"><b>bold link</b></a>');
  });

  it("leaves what does not pair up as the literal characters", () => {
    const cases = ["**never closed", "*", "_", "**", "a ` b", "2*3*4 = 24", "snake_case_name", "* not a list item*", "**bold **"];
    for (const c of cases) expect(shown(c).text).toBe(c);
  });

  it("escapes HTML and quotes in link targets", () => {
    expect(markdownToTelegramHtml("<script>alert(1)</script>")).toBe("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(markdownToTelegramHtml("a < b && c > d")).toBe("a &lt; b &amp;&amp; c &gt; d");
    expect(markdownToTelegramHtml(`[x](https://e.com/?q="1"&r='2')`)).toBe(`<a href="https://e.com/?q=&quot;1&quot;&amp;r='2'">x</a>`);
    expect(shown(`[x](https://e.com/?q="1"&r='2')`).entities[0]!.url).toBe(`https://e.com/?q="1"&r='2'`);
    expect(escapeHtml(`"<&>"`)).toBe("&quot;&lt;&amp;&gt;&quot;");
  });

  it("does not link unsafe schemes", () => {
    expect(shown("[click](javascript:alert(1))")).toEqual({ text: "[click](javascript:alert(1))", entities: [] });
    // Telegram turns a tg://user link into a mention that notifies that user.
    expect(shown("[hey](tg://user?id=123456)")).toEqual({ text: "[hey](tg://user?id=123456)", entities: [] });
    expect(shown("<tg://user?id=123456>").entities).toEqual([]);
  });

  it("honours backslash escapes", () => {
    expect(shown("\\*not italic\\* \\_nor this\\_").text).toBe("*not italic* _nor this_");
  });

  it("always produces HTML that Telegram parses, whatever the model writes", () => {
    const pieces = ["**", "*", "_", "__", "`", "```", "~~", "[", "]", "(", ")", "<", ">", "&", '"', "'", "#", "> ", "\n", " ", "a", "https://x.y", "\\", "|", "😀", "&amp;", "<b>", "</i>"];
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let n = 0; n < 2000; n++) {
      let text = "";
      const length = 1 + Math.floor(random() * 30);
      for (let i = 0; i < length; i++) text += pieces[Math.floor(random() * pieces.length)];
      const html = markdownToTelegramHtml(text);
      let parsed;
      try {
        parsed = parseTelegramHtml(html);
      } catch (e) {
        throw new Error(`${JSON.stringify(text)} → ${html}: ${(e as Error).message}`);
      }
      expect(visibleText(html)).toBe(parsed.text);
    }
  });
});

describe("mentions the model writes", () => {
  it("never become Telegram mentions, in formatted or plain text, while e-mails, code and links stay as written", async () => {
    const { defuseMentions, markdownToTelegramHtml } = await import("../../src/adapters/telegram/format.js");
    const html = markdownToTelegramHtml("Ask @alice_admin or **@bob1234**, mail me@example.com, see [@carol](https://t.me/carol) and `@dave_in_code`");
    expect(html).toContain("@\u2060alice_admin");
    expect(html).toContain("<b>@\u2060bob1234</b>");
    expect(html).toContain("me@example.com");
    expect(html).toContain('<a href="https://t.me/carol">@\u2060carol</a>');
    expect(html).toContain("<code>@dave_in_code</code>");
    expect(defuseMentions("@everyone and @someone_else, not a@b.cd")).toBe("@\u2060everyone and @\u2060someone_else, not a@b.cd");
  });
});
