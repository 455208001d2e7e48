import type { RedisClient } from './redis-client.js'
import { READ_LOGIN_FAILURES, RECORD_LOGIN_FAILURE, type Script } from './redis-scripts.js'
import { NO_LOGIN_FAILURES, type LoginFailureCount, type LoginFailureCounts, type LoginFailureKeys, type LoginFailureStore } from './token-store.js'

/** Runs one of the store's Lua scripts. */
export type ScriptRunner = (code: Script, keys: string[], args: Array<string | number>) => Promise<unknown>

function failureCount (failures: unknown, lastFailureAt: unknown): LoginFailureCount {
  if (failures === null || failures === undefined) return NO_LOGIN_FAILURES
  return { failures: Number(failures), lastFailureAt: Number(lastFailureAt) }
}

function failureCounts (reply: unknown): LoginFailureCounts {
  const [addressFailures, addressLast, pairFailures, pairLast] = reply as unknown[]
  return { address: failureCount(addressFailures, addressLast), pair: failureCount(pairFailures, pairLast) }
}

/**
 * The login-failure counters of the Redis store (account protection): one hash per
 * counter, both keys of an attempt tagged with the address digest so one script
 * updates both atomically, on a Cluster too.
 */
export function redisLoginFailures (run: ScriptRunner, client: RedisClient, prefix: string): LoginFailureStore {
  const addressKey = (keys: LoginFailureKeys): string => `${prefix}login-failures:{${keys.address}}`
  const pairKey = (keys: LoginFailureKeys): string => `${prefix}login-failures:{${keys.address}}:${keys.pair}`

  return {
    async recordLoginFailure (keys: LoginFailureKeys, now: number, windowMs: number): Promise<LoginFailureCounts> {
      return failureCounts(await run(RECORD_LOGIN_FAILURE, [addressKey(keys), pairKey(keys)], [now, Math.max(1, Math.ceil(windowMs))]))
    },
    async loginFailures (keys: LoginFailureKeys, now: number): Promise<LoginFailureCounts> {
      return failureCounts(await run(READ_LOGIN_FAILURES, [addressKey(keys), pairKey(keys)], [now]))
    },
    async clearLoginFailures (keys: LoginFailureKeys): Promise<void> {
      await client.call('DEL', pairKey(keys))
    }
  }
}
