/**
 * Notices which server-sent-event answers ended with `data: [DONE]`. The
 * openai client swallows that marker, yet it is what tells a complete answer
 * from one cut short when a compatible server sends no `finish_reason`.
 */

const ended = new WeakSet<Response>();
/** Longest tail of one chunk kept to find a marker split across two chunks. */
const CARRY_CHARS = 16;
const END_MARKER = /(^|\n)data: ?\[DONE\]/;

/** Whether `response` (as handed out by {@link endMarkingFetch}) carried `data: [DONE]`. */
export function sawEndMarker(response: Response): boolean {
  return ended.has(response);
}

/**
 * A `fetch` for the openai client that passes every answer through, and
 * watches the body of event streams for the end marker.
 */
export function endMarkingFetch(inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    if (!response.body || !response.headers.get("content-type")?.includes("text/event-stream")) return response;
    const decoder = new TextDecoder();
    let carry = "\n";
    let found = false;
    const watched: Response = new Response(
      response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            if (!found) {
              const text = carry + decoder.decode(chunk, { stream: true });
              if (END_MARKER.test(text)) {
                found = true;
                ended.add(watched);
              }
              carry = text.slice(-CARRY_CHARS);
            }
            controller.enqueue(chunk);
          },
        }),
      ),
      { status: response.status, statusText: response.statusText, headers: response.headers },
    );
    return watched;
  };
}
