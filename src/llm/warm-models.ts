/**
 * Which models of one Ollama server we keep loaded, most recently used last.
 * Loading a model beyond the limit returns the least recently used ones to
 * unload, so a small machine does not end up swapping between models.
 */
export class WarmModels {
  /** Least recently used first. */
  readonly #order: string[] = [];

  constructor(private readonly limit: number) {}

  /** Marks `model` as just used; returns the models to unload to stay within the limit. */
  use(model: string): string[] {
    const at = this.#order.indexOf(model);
    if (at >= 0) this.#order.splice(at, 1);
    this.#order.push(model);
    return this.#order.length > this.limit ? this.#order.splice(0, this.#order.length - this.limit) : [];
  }

  /** The model could not be loaded (or was unloaded elsewhere): stop counting it. */
  forget(model: string): void {
    const at = this.#order.indexOf(model);
    if (at >= 0) this.#order.splice(at, 1);
  }

  /** Loaded models, least recently used first. */
  list(): string[] {
    return [...this.#order];
  }
}
