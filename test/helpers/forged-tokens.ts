import { Buffer } from 'node:buffer'
import { createHmac } from 'node:crypto'

/**
 * A compact JWS over exactly `claims`, signed with HS256 and `secret`, its header
 * `{ alg: 'HS256', typ: 'at+jwt' }` with `header`'s members added or replaced:
 * what a token the plugin would issue looks like, with claims it would never write.
 */
export function hs256Token (claims: Record<string, unknown>, secret: string, header: Record<string, unknown> = {}): string {
  const input = `${segment({ alg: 'HS256', typ: 'at+jwt', ...header })}.${segment(claims)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

function segment (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
