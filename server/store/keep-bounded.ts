/**
 * Sets `key` as the newest entry of `map`, dropping the oldest past `limit`:
 * the Redis store's in-process guesses (what it last wrote, how far it raised
 * an index entry) stay small however many sessions pass through.
 */
export function keepBounded<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as string);
}
