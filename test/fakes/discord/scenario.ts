/**
 * A ready-made Discord server for tests: one guild with two text channels
 * and a thread, a moderator role (Manage Messages), a role that is a
 * moderator only by configured id, and users: a plain member, a moderator
 * by role, a member given Manage Messages by a channel overwrite in
 * #general only, and someone who only writes DMs.
 */
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions, type FakeUser } from "./index.js";

const MANAGE_MESSAGES = 1n << 13n;

export interface DiscordScenario {
  fake: FakeDiscord;
  guildId: string;
  general: string;
  random: string;
  /** A thread under #general. */
  thread: string;
  modRoleId: string;
  /** A role with no permissions, for DISCORD_MODERATOR_ROLE_IDS. */
  helperRoleId: string;
  member: FakeUser;
  moderator: FakeUser;
  /** Has Manage Messages in #general (and its thread) by a member overwrite only. */
  channelModerator: FakeUser;
  /** Holds the helper role. */
  helper: FakeUser;
  dmUser: FakeUser;
}

export async function startScenario(options: FakeDiscordOptions = {}): Promise<DiscordScenario> {
  const fake = await startFakeDiscord(options);
  const member = fake.addUser({ username: "ada", globalName: "Ada" });
  const moderator = fake.addUser({ username: "grace", globalName: "Grace" });
  const channelModerator = fake.addUser({ username: "linus", globalName: "Linus" });
  const helper = fake.addUser({ username: "margaret", globalName: "Margaret" });
  const dmUser = fake.addUser({ username: "alan", globalName: "Alan" });
  const guildId = fake.addGuild({ name: "Parley Lab" });
  const modRoleId = fake.addRole(guildId, { name: "Mods", permissions: MANAGE_MESSAGES });
  const helperRoleId = fake.addRole(guildId, { name: "Helpers", permissions: 0n });
  const general = fake.addChannel(guildId, { name: "general" });
  const random = fake.addChannel(guildId, { name: "random" });
  const thread = fake.addThread(general, { name: "a thread" });
  fake.addMember(guildId, member.id, { nick: "Ada L." });
  fake.addMember(guildId, moderator.id, { roles: [modRoleId] });
  fake.addMember(guildId, channelModerator.id);
  fake.addMember(guildId, helper.id, { roles: [helperRoleId] });
  fake.setOverwrite(general, { id: channelModerator.id, type: 1, allow: MANAGE_MESSAGES, deny: 0n });
  return { fake, guildId, general, random, thread, modRoleId, helperRoleId, member, moderator, channelModerator, helper, dmUser };
}
