import { memoryTokenStore } from '../../lib/stores/memory.js'
import type { TokenStore } from '../../lib/stores/token-store.js'

/** A real store seen through a window: calls are counted, faults can be switched on, notifications held back. */
export interface ObservedStore extends TokenStore {
  /** Calls per method so far. */
  readonly calls: Record<string, number>
  /** While true, every call rejects as a Redis client does when the server is down. */
  failing: boolean
  /** While false, revocations made through this store notify nobody (as when a pub/sub message is lost). */
  notifying: boolean
}

/** Wraps `inner` (a fresh memory store by default) into an {@link ObservedStore}. */
export function observedStore (inner: TokenStore = memoryTokenStore()): ObservedStore {
  const calls: Record<string, number> = {}
  const listeners = new Set<() => void>()
  const window = { calls, failing: false, notifying: true }

  function counted<A extends unknown[], R> (name: string, method: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      calls[name] = (calls[name] ?? 0) + 1
      if (window.failing) throw new Error('Stream isn\'t writeable and enableOfflineQueue options is false')
      return await method(...args)
    }
  }

  inner.onRevocation(() => {
    if (window.notifying) for (const listener of listeners) listener()
  })

  return Object.assign(window, {
    createFamily: counted('createFamily', inner.createFamily),
    findFamily: counted('findFamily', inner.findFamily),
    rotate: counted('rotate', inner.rotate),
    confirmRotation: counted('confirmRotation', inner.confirmRotation),
    revokeFamily: counted('revokeFamily', inner.revokeFamily),
    revokeAccessToken: counted('revokeAccessToken', inner.revokeAccessToken),
    revokeUser: counted('revokeUser', inner.revokeUser),
    accessTokenStatus: counted('accessTokenStatus', inner.accessTokenStatus),
    useNonceCount: counted('useNonceCount', inner.useNonceCount),
    onRevocation (listener: () => void) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    close: async () => {},
    // Login-failure counters (account protection)
    recordLoginFailure: counted('recordLoginFailure', inner.recordLoginFailure),
    loginFailures: counted('loginFailures', inner.loginFailures),
    clearLoginFailures: counted('clearLoginFailures', inner.clearLoginFailures)
  })
}
