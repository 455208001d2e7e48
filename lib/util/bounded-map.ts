/**
 * A map of at most `maxEntries` entries where a new key pushes out the oldest
 * one (first in, first out). Eviction costs O(1): the keys' order is kept in a
 * ring, not found by iterating the map, whose deleted slots V8 walks one by one
 * (with `map.keys().next()` an eviction costs time proportional to the size).
 * A size of 0 stores nothing.
 */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>()
  // Slot i holds the key (and the value) written i-th modulo the size: the next slot to write is the oldest
  readonly #keys: Array<K | undefined>
  readonly #values: Array<V | undefined>
  readonly #maxEntries: number
  #next = 0

  constructor (maxEntries: number) {
    this.#maxEntries = maxEntries
    this.#keys = new Array<K | undefined>(maxEntries)
    this.#values = new Array<V | undefined>(maxEntries)
  }

  get (key: K): V | undefined {
    return this.#entries.get(key)
  }

  /** Stores `value` under `key` as the newest entry, pushing out the oldest when full. */
  set (key: K, value: V): void {
    if (this.#maxEntries === 0) return
    const slot = this.#next
    const oldest = this.#keys[slot]
    // The slot's key may have been deleted or written again since: only its own entry goes
    if (oldest !== undefined && this.#entries.get(oldest) === this.#values[slot]) this.#entries.delete(oldest)
    this.#keys[slot] = key
    this.#values[slot] = value
    this.#entries.set(key, value)
    this.#next = (slot + 1) % this.#maxEntries
  }

  delete (key: K): void {
    this.#entries.delete(key)
  }

  clear (): void {
    this.#entries.clear()
    this.#keys.fill(undefined)
    this.#values.fill(undefined)
  }
}
