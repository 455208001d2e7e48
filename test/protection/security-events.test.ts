import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import Fastify from 'fastify'
import t from 'tap'
import { createSecurityEvents } from '../../lib/protection/security-events.js'
import { SECURITY_EVENT_CHANNEL, SECURITY_EVENT_NAMES, securityEventChannel } from '../../lib/index.js'
import { backoffWaitMs } from '../../lib/protection/backoff.js'
import { throttledAddress } from '../../lib/protection/client-address.js'

// Unit tests that must run without the suite-wide subscriber of test/helpers/build-app.ts

const request = { ip: '127.0.0.2', id: 'req-1' } as unknown as import('fastify').FastifyRequest

t.test('without a listener or a subscriber nothing is built or published', async (t) => {
  const emit = createSecurityEvents(undefined, Fastify().log)
  emit(request, { event: 'authn_login_fail', reason: 'unknown_user', mechanism: 'password_grant' })
  t.pass()
})

t.test('events go to the aggregate channel, the channel of their name and the listener, frozen and complete', async (t) => {
  const seen: Array<[string, unknown]> = []
  const all = (message: unknown) => { seen.push(['all', message]) }
  const named = (message: unknown) => { seen.push(['named', message]) }
  subscribe(SECURITY_EVENT_CHANNEL, all)
  subscribe(securityEventChannel('authn_login_lock'), named)
  t.teardown(() => {
    unsubscribe(SECURITY_EVENT_CHANNEL, all)
    unsubscribe(securityEventChannel('authn_login_lock'), named)
  })
  createSecurityEvents(undefined, Fastify().log)(request, { event: 'authz_fail', reason: 'insufficient_scope', mechanism: 'bearer' })
  t.equal(seen.length, 1, 'a subscriber alone is enough to publish')
  seen.length = 0
  const heard: unknown[] = []
  const emit = createSecurityEvents((event) => { heard.push(event) }, Fastify().log)
  emit(request, { event: 'authn_login_lock', reason: 'throttled_address', mechanism: 'http_basic' })
  const event = heard[0] as Record<string, unknown>
  t.match(event, { event: 'authn_login_lock', userId: null, clientAddress: '127.0.0.2', clientId: null, requestId: 'req-1', reason: 'throttled_address', mechanism: 'http_basic' })
  t.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.ok(Object.isFrozen(event))
  t.same(seen, [['all', event], ['named', event]])
  t.equal(securityEventChannel('authz_fail'), 'fastify-oauth2-password:authz_fail')
  t.same([...SECURITY_EVENT_NAMES], ['authn_login_success', 'authn_login_fail', 'authn_login_lock', 'authn_token_reuse', 'authn_token_revoked', 'authn_token_invalid', 'authz_fail'])
})

t.test('a listener that throws is logged, never rethrown', async (t) => {
  const logged: unknown[] = []
  const log = Object.assign(Fastify().log, { error: (...args: unknown[]) => { logged.push(args) } })
  const emit = createSecurityEvents(() => { throw new Error('broken listener') }, log)
  emit(request, { event: 'authn_login_success', reason: 'valid_credentials', mechanism: 'password_grant', userId: 'johndoe' })
  t.equal(logged.length, 1)
  t.match(logged[0], [{ securityEvent: 'authn_login_success' }, 'fastify-oauth2-password: onSecurityEvent threw'])
})

t.test('back-off: free attempts, then base × 2^n seconds after the last failure, capped', async (t) => {
  const policy = { freeAttempts: 2, baseDelaySeconds: 1, maxDelaySeconds: 5 }
  t.equal(backoffWaitMs(policy, { failures: 1, lastFailureAt: 1000 }, 1000), 0)
  t.equal(backoffWaitMs(policy, { failures: 2, lastFailureAt: 1000 }, 1000), 1000)
  t.equal(backoffWaitMs(policy, { failures: 3, lastFailureAt: 1000 }, 1500), 1500)
  t.equal(backoffWaitMs(policy, { failures: 4, lastFailureAt: 1000 }, 1000), 4000)
  t.equal(backoffWaitMs(policy, { failures: 5000, lastFailureAt: 1000 }, 1000), 5000, 'capped, even for huge counts')
  t.equal(backoffWaitMs(policy, { failures: 9, lastFailureAt: 1000 }, 9000), 0, 'waited out')
})

t.test('throttled address: IPv4 as is, IPv4-mapped unwrapped, IPv6 by its /64', async (t) => {
  t.equal(throttledAddress('203.0.113.9'), '203.0.113.9')
  t.equal(throttledAddress('::ffff:203.0.113.9'), '203.0.113.9')
  t.equal(throttledAddress('2001:db8:0:1:2:3:4:5'), '2001:db8:0:1::/64')
  t.equal(throttledAddress('2001:0db8:0000:0001::5'), '2001:db8:0:1::/64')
  t.equal(throttledAddress('::1'), '0:0:0:0::/64')
  t.equal(throttledAddress('fe80::1%eth0'), 'fe80:0:0:0::/64')
  t.equal(throttledAddress('2001:db8::'), '2001:db8:0:0::/64')
  t.equal(throttledAddress('not-an-ip'), 'not-an-ip', 'whatever trustProxy produced, as is')
})
