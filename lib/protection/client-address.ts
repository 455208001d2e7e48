import { isIPv6 } from 'node:net'

/**
 * The address a login-failure counter is kept for. IPv4 addresses (IPv4-mapped
 * IPv6 ones included) as they are; an IPv6 address by its /64 prefix, since one
 * client commonly holds a whole /64 (RFC 6177 §3, RFC 7421) and could otherwise
 * take a fresh address for every guess.
 */
export function throttledAddress (ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped !== null) return mapped[1] as string
  if (!isIPv6(ip)) return ip
  return `${expandIPv6(ip).slice(0, 4).join(':')}::/64`
}

// The eight 16-bit groups of an IPv6 address, "::" expanded, a zone (%eth0) dropped
function expandIPv6 (ip: string): string[] {
  const [head = '', tail] = (ip.split('%')[0] as string).toLowerCase().split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const missing = Math.max(0, 8 - left.length - right.length)
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((group) => group.replace(/^0+(?=.)/, ''))
}
