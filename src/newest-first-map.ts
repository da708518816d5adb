/**
 * Sets `key` as the newest entry of `map` (a Map iterates in insertion order) and forgets the
 * oldest entries while it holds more than `max`: the one way this process's bounded memories
 * (caches, limits, pending states) stay bounded.
 */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as K);
}
