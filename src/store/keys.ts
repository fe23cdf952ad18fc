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
