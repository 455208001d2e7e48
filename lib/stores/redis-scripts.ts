import { createHash } from 'node:crypto'

// The Redis store's Lua scripts: every change is one script, so it is atomic and never half-written.
// Each script's keys share one bucket (lib/stores/redis-keys.ts), hence one Redis Cluster slot.

/** A Lua script and its SHA-1, for `EVALSHA`. */
export interface Script {
  readonly source: string
  readonly sha: string
}

function script (source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

// Monotonic revocation marker: set it, or lengthen it, never shorten it
const REMEMBER = `
local function remember (key, ttl)
  if ttl > 0 and redis.call('PTTL', key) < ttl then redis.call('SET', key, '1', 'PX', ttl) end
end
`

// KEYS: family. ARGV: user, scope, issuedAt, expiresAt, idleExpiresAt, tokenHash, ttl, [client]
export const CREATE = script(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'u', ARGV[1], 's', ARGV[2], 'i', ARGV[3], 'e', ARGV[4], 'd', ARGV[5], 'h', ARGV[6])
if ARGV[8] then redis.call('HSET', KEYS[1], 'c', ARGV[8]) end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
`)

// KEYS: family, family revocation, the family's bucket marker.
// ARGV: user, hash, next hash, now, idle deadline, grace, retainUntil, channel, successor seed, retry window,
// the user's not-before time (read just before: in a Cluster it lives in another slot).
// Field 'n' holds the successor's seed until the rotation is confirmed: a retry of an unconfirmed rotation gets it back.
// A family older than its bucket's marker survived a partial loss (eviction): it is not trusted
export const ROTATE = script(`${REMEMBER}
local f = redis.call('HMGET', KEYS[1], 'u', 'i', 'e', 'd', 'h', 'p', 'r', 'n')
if not f[1] or f[1] ~= ARGV[1] then return 'invalid' end
local now = tonumber(ARGV[4])
if now >= tonumber(f[3]) or now >= tonumber(f[4]) then
  redis.call('DEL', KEYS[1])
  return 'invalid'
end
local since = redis.call('GET', KEYS[3])
if not since or tonumber(f[2]) < math.max(tonumber(since), tonumber(ARGV[11])) then
  redis.call('DEL', KEYS[1])
  return 'invalid'
end
if f[5] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'h', ARGV[3], 'p', ARGV[2], 'r', ARGV[4], 'd', ARGV[5], 'n', ARGV[9])
  redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[5]) - now))
  return 'rotated'
end
if f[8] and f[6] == ARGV[2] and now < tonumber(f[7]) + tonumber(ARGV[10]) then return {'repeated', f[8]} end
local grace = tonumber(ARGV[6])
if grace > 0 and f[6] == ARGV[2] and now < tonumber(f[7]) + grace then return 'superseded' end
redis.call('DEL', KEYS[1])
remember(KEYS[2], tonumber(ARGV[7]) - now)
redis.call('PUBLISH', ARGV[8], 'family')
return 'reused'
`)

// KEYS: family. ARGV: the successor's hash. Ends the retry window of its rotation
export const CONFIRM = script(`
if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then redis.call('HDEL', KEYS[1], 'n') end
return 1
`)

// KEYS: family, family revocation. ARGV: ttl, channel
export const REVOKE_FAMILY = script(`${REMEMBER}
redis.call('DEL', KEYS[1])
remember(KEYS[2], tonumber(ARGV[1]))
redis.call('PUBLISH', ARGV[2], 'family')
return 1
`)

// KEYS: access-token revocation. ARGV: ttl, channel
export const REVOKE_ACCESS_TOKEN = script(`${REMEMBER}
remember(KEYS[1], tonumber(ARGV[1]))
redis.call('PUBLISH', ARGV[2], 'jti')
return 1
`)

// KEYS: user not-before. ARGV: notBefore, ttl, channel. Neither the time nor the retention ever goes down.
export const REVOKE_USER = script(`
local at = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local pttl = redis.call('PTTL', KEYS[1])
if at > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(ttl, pttl, 1))
elseif ttl > pttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
redis.call('PUBLISH', ARGV[3], 'user')
return 1
`)

// KEYS: the nonce's counts, its bucket marker. ARGV: nonce-count, nonce issue time, ttl.
// 1: first use; 0: a replay, or a nonce older than its bucket's data (lost counts could hide a replay); -1: no marker
export const USE_NONCE_COUNT = script(`
local since = redis.call('GET', KEYS[2])
if not since then return -1 end
if tonumber(ARGV[2]) < tonumber(since) then return 0 end
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[3])))
return added
`)

// Login-failure counters (account protection). One hash per counter, fields
// n (failures) and t (last failure, ms), expiring windowMs after the last failure.
// Both keys of an attempt carry the address digest as their hash tag, so one
// script can touch both even on Redis Cluster.
// ---------------------------------------------------------------------------

// KEYS: address counter, pair counter. ARGV: now, windowMs. Returns { n, t, n, t }.
// A counter whose window has passed by the caller's clock (field e) starts again from 0.
export const RECORD_LOGIN_FAILURE = script(`
local now = tonumber(ARGV[1])
local out = {}
for i = 1, 2 do
  local e = tonumber(redis.call('HGET', KEYS[i], 'e') or '0')
  if e <= now then redis.call('DEL', KEYS[i]) end
  local n = redis.call('HINCRBY', KEYS[i], 'n', 1)
  redis.call('HSET', KEYS[i], 't', ARGV[1], 'e', now + tonumber(ARGV[2]))
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
  out[#out + 1] = n
  out[#out + 1] = ARGV[1]
end
return out
`)

// KEYS: address counter, pair counter. ARGV: now. Returns { n, t, n, t }, false for a missing or expired counter
export const READ_LOGIN_FAILURES = script(`
local now = tonumber(ARGV[1])
local out = {}
for i = 1, 2 do
  local f = redis.call('HMGET', KEYS[i], 'n', 't', 'e')
  if f[1] and tonumber(f[3]) > now then
    out[#out + 1] = f[1]
    out[#out + 1] = f[2]
  else
    out[#out + 1] = false
    out[#out + 1] = false
  end
end
return out
`)
