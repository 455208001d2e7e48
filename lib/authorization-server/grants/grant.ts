import type { FastifyRequest } from 'fastify'
import type { AuthenticatedClient } from '../client-auth.js'
import type { FormParameters } from '../../protocol/form-body.js'
import type { TokenResponse } from '../../tokens/token-response.js'

/** What a grant handler gets: the parsed form, the authenticated client, the request. */
export interface GrantRequest {
  readonly parameters: FormParameters
  readonly client: AuthenticatedClient
  readonly request: FastifyRequest
}

/** Handles one `grant_type` of the token endpoint (RFC 6749 §4). */
export type GrantHandler = (grant: GrantRequest) => Promise<TokenResponse>
