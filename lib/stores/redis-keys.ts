import { createHash } from 'node:crypto'

/**
 * Keys are spread over this many buckets. Each bucket is one Redis Cluster hash
 * tag (`{b<n>}`), so the keys one script touches share a slot while families,
 * users and revoked tokens spread over every shard; each bucket also has one
 * generation marker, in its own slot, that tells a lost bucket from an empty one.
 */
export const BUCKETS = 1024

/** The Redis key names of one store (one prefix). */
export interface RedisKeys {
  /** Bucket of a family, a user or a `jti`: 0 to `BUCKETS - 1`. */
  bucketOf (id: string): number
  /**
   * The bucket's generation marker: written at the store's first use and never
   * expired, its value is the time (ms) from which the bucket's data is complete.
   * Missing: the bucket's data was lost (flush, restart without persistence, eviction).
   */
  marker (bucket: number): string
  family (familyId: string): string
  revokedFamily (familyId: string): string
  revokedJti (jti: string): string
  notBefore (userId: string): string
  /** The nonce-counts used with an HTTP Digest nonce (a set). */
  nonceCounts (nonce: string): string
  /** The pub/sub channel of revocation notices (no slot: Cluster broadcasts to every node). */
  readonly channel: string
}

/** Key names under `prefix`. A `{…}` in the prefix would override the buckets' hash tags: do not use one. */
export function redisKeys (prefix: string): RedisKeys {
  function bucketOf (id: string): number {
    return createHash('sha256').update(id).digest().readUInt16BE(0) % BUCKETS
  }
  const tag = (bucket: number): string => `${prefix}{b${bucket}}:`
  return {
    bucketOf,
    marker: (bucket) => `${tag(bucket)}generation`,
    // A family and its revocation share the family's bucket: one script updates both
    family: (familyId) => `${tag(bucketOf(familyId))}family:${familyId}`,
    revokedFamily: (familyId) => `${tag(bucketOf(familyId))}revoked-family:${familyId}`,
    revokedJti: (jti) => `${tag(bucketOf(jti))}revoked-jti:${jti}`,
    notBefore: (userId) => `${tag(bucketOf(userId))}not-before:${userId}`,
    nonceCounts: (nonce) => `${tag(bucketOf(nonce))}digest-nonce:${nonce}`,
    channel: `${prefix}revocations`
  }
}
