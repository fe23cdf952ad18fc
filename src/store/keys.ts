/**
 * How a channel's (or user's) data is named inside a namespace. The owner
 * key comes first, escaped so that `#` only ever separates parts: no key of
 * `telegram:1` can equal a key of `telegram:12`, `discord:1` or of a key that
 * itself contains `#`.
 */
export function ownedKey(ownerKey: string, ...parts: readonly (string | number)[]): string {
  const escaped = ownerKey.replaceAll("%", "%25").replaceAll("#", "%23");
  return [escaped, ...parts].join("#");
}

/** The owner key of a key made by {@link ownedKey} with these `parts`, or undefined when it is not one. */
export function ownerOf(key: string, ...parts: readonly (string | number)[]): string | undefined {
  const suffix = ["", ...parts].join("#");
  if (!key.endsWith(suffix)) return undefined;
  const escaped = key.slice(0, key.length - suffix.length);
  if (escaped.includes("#")) return undefined;
  return escaped.replaceAll("%23", "#").replaceAll("%25", "%");
}
