/**
 * Response schemas of the example's routes. They document the answers in the
 * OpenAPI document and make Fastify serialize only the listed properties, so a
 * password hash could not reach a response even if a handler returned one.
 */

/** `GET /users/me`: the FastAPI tutorial's `User`. */
export const userSchema = {
  description: 'The user the token was issued to (never its password hash)',
  type: 'object',
  properties: {
    username: { type: 'string' },
    email: { type: ['string', 'null'] },
    full_name: { type: ['string', 'null'] },
    disabled: { type: 'boolean' }
  },
  required: ['username', 'email', 'full_name', 'disabled'],
  additionalProperties: false
} as const

/** `GET /users/me/items`. */
export const itemsSchema = {
  description: 'The items the user owns',
  type: 'array',
  items: {
    type: 'object',
    properties: {
      item_id: { type: 'string' },
      owner: { type: 'string' }
    },
    required: ['item_id', 'owner'],
    additionalProperties: false
  }
} as const

/** `GET /status` and `GET /health`. */
export const statusSchema = {
  description: 'The service is up',
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok'] } },
  required: ['status'],
  additionalProperties: false
} as const

/** Any route's answer to a request Fastify refuses before the handler (a malformed URL, a body on GET…). */
export const clientErrorSchema = {
  description: 'The request is malformed (Fastify\'s error body)',
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' }
  },
  required: ['statusCode', 'error', 'message']
} as const
