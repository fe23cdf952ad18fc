import type { Keyv } from "keyv";
import { ownedKey } from "./keys.js";
import type { KeyValueStore } from "./kv.js";

/** What a channel has chosen; one small record per channel. */
interface ChannelChoices {
  persona?: string;
}

/** Per-channel choices such as the persona. They do not expire. */
export class ChannelSettings {
  readonly #keyv: Keyv;

  constructor(store: KeyValueStore) {
    this.#keyv = store.keyv("settings");
  }

  /** The persona chosen for the channel, if any. */
  async getPersona(channelKey: string): Promise<string | undefined> {
    return (await this.#choices(channelKey)).persona;
  }

  /** Chooses a persona for the channel; `undefined` goes back to the default. */
  async setPersona(channelKey: string, name: string | undefined): Promise<void> {
    const { persona: _previous, ...rest } = await this.#choices(channelKey);
    await this.#save(channelKey, name === undefined ? rest : { ...rest, persona: name });
  }

  /** Forgets every choice of the channel. */
  async clear(channelKey: string): Promise<void> {
    await this.#keyv.delete(choicesKey(channelKey));
  }

  async #choices(channelKey: string): Promise<ChannelChoices> {
    return (await this.#keyv.get<ChannelChoices>(choicesKey(channelKey))) ?? {};
  }

  async #save(channelKey: string, choices: ChannelChoices): Promise<void> {
    if (Object.keys(choices).length === 0) await this.#keyv.delete(choicesKey(channelKey));
    else await this.#keyv.set(choicesKey(channelKey), choices);
  }
}

function choicesKey(channelKey: string): string {
  return ownedKey(channelKey, "settings");
}
