/**
 * The descriptions of refused access tokens (`error_description` of RFC 6750 §3.1):
 * one per reason, generic on purpose, never quoting the token, a claim or a date.
 */
export const TOKEN_REFUSALS = Object.freeze({
  invalid: 'The access token is invalid',
  expired: 'The access token expired',
  notYetValid: 'The access token is not valid yet',
  signature: 'The access token signature is invalid',
  algorithm: 'The access token algorithm is not accepted',
  type: 'The access token type is not at+jwt',
  claims: 'The access token claims are invalid',
  issuerOrAudience: 'The access token issuer or audience is not accepted',
  audience: 'The access token audience is not accepted',
  unknownKey: 'The access token signing key is unknown'
})
