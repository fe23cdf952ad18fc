/**
 * Hosted models known to take images, by name. OpenAI-compatible and
 * Anthropic servers have no endpoint that says whether a model can see
 * (`/v1/models` lists ids only), so without this list every such model
 * would need a `vision` entry in the config; it holds only families that
 * have taken images since their first release. Anything else: the
 * provider's `vision` setting.
 */
const SEEING_FAMILIES: readonly RegExp[] = [
  /^chatgpt-4o/,
  /^gpt-4o/, // gpt-4o, gpt-4o-mini and their dated versions; not gpt-4o-audio / -transcribe / -tts
  /^gpt-4\.1/,
  /^gpt-4-turbo/,
  /^gpt-5/,
  // Every Claude since Claude 3 sees images; Claude 2 and Instant did not.
  /^claude-(?!2|instant)/,
];

/** Audio and speech variants that share a seeing family's prefix but take no images. */
const NOT_IMAGES = /(audio|realtime|transcribe|tts|search)/;

/**
 * True when `model` is a well-known model that takes images, else undefined
 * (not known, which is not "cannot"). A vendor prefix such as OpenRouter's
 * `openai/gpt-4o-mini` or `anthropic/claude-3.5-sonnet` is looked past.
 */
export function knownToSee(model: string): true | undefined {
  const name = model.slice(model.lastIndexOf("/") + 1).toLowerCase();
  return SEEING_FAMILIES.some((family) => family.test(name)) && !NOT_IMAGES.test(name) ? true : undefined;
}
