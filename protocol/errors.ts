import { z } from 'zod';

/** Stable error codes: clients switch on these, so never rename one. */
export const errorCodes = [
  'bad_request',
  'not_found',
  /** The request is well formed but the resource's state forbids it (resume a cancelled campaign, download a dataset still building). */
  'conflict',
  /** A pre-signed download URL that is expired or altered. */
  'download_url_invalid',
  'payload_too_large',
  'internal_error',
  'signature_missing',
  'signature_invalid',
  'signature_wrong_server',
  'timestamp_stale',
  'nonce_replayed',
  'device_unknown',
  /** A device session this server process does not hold (expired, or opened before a restart or on another replica): open a new one. */
  'session_unknown',
  'api_key_missing',
  'api_key_invalid',
  'api_key_revoked',
  'operator_token_invalid',
  'rate_limited',
  'overloaded',
  'server_unreachable',
  'server_rejected',
  /** A Sign-In with Ethereum message that does not parse, is not in canonical form, or does not say what the action needs. */
  'siwe_message_invalid',
  'siwe_domain_mismatch',
  'siwe_chain_mismatch',
  /** Its expirationTime has passed. */
  'siwe_expired',
  /** Its issuedAt or notBefore is still in the future. */
  'siwe_not_yet_valid',
  'siwe_nonce_unknown',
  'siwe_nonce_used',
  'siwe_nonce_expired',
  /** The signature is not the named address's (for a contract wallet: its EIP-1271/6492 check on the chain said no). */
  'siwe_signature_invalid',
  /** No such code for the named device (mistyped, or another device's). */
  'link_code_invalid',
  'link_code_used',
  'link_code_expired',
  /** Unlink asked for a device that is not linked to the signing wallet. */
  'wallet_not_linked',
  /** A contributor endpoint called without `Authorization: Bearer gls_…` (sign in with the wallet first). */
  'wallet_session_missing',
  /** A wallet session token that was never issued here or was signed out. */
  'wallet_session_invalid',
  'wallet_session_expired',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** How every error crosses HTTP and extension messages. */
export const errorBodySchema = z.object({
  code: z.enum(errorCodes),
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** The one error type: a stable code, a short message for people, optional details and cause. */
export class BaseError extends Error {
  override name = 'GleanerError';
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromBody(body: ErrorBody): BaseError {
    return new BaseError(body.code, body.message, { details: body.details });
  }
}

/** Authentication failures: always HTTP 401. */
export class AuthError extends BaseError {
  override name = 'AuthError';
}

/** HTTP status for each code, used by the server's one error handler. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'bad_request':
    case 'siwe_message_invalid':
      return 400;
    case 'not_found':
      return 404;
    case 'conflict':
    case 'wallet_not_linked':
      return 409;
    case 'download_url_invalid':
      return 403;
    case 'payload_too_large':
      return 413;
    case 'signature_missing':
    case 'signature_invalid':
    case 'signature_wrong_server':
    case 'timestamp_stale':
    case 'nonce_replayed':
    case 'device_unknown':
    case 'session_unknown':
    case 'api_key_missing':
    case 'api_key_invalid':
    case 'api_key_revoked':
    case 'operator_token_invalid':
    case 'siwe_domain_mismatch':
    case 'siwe_chain_mismatch':
    case 'siwe_expired':
    case 'siwe_not_yet_valid':
    case 'siwe_nonce_unknown':
    case 'siwe_nonce_used':
    case 'siwe_nonce_expired':
    case 'siwe_signature_invalid':
    case 'link_code_invalid':
    case 'link_code_used':
    case 'link_code_expired':
    case 'wallet_session_missing':
    case 'wallet_session_invalid':
    case 'wallet_session_expired':
      return 401;
    case 'rate_limited':
      return 429;
    case 'overloaded':
      return 503;
    case 'server_unreachable':
    case 'server_rejected':
      return 502;
    case 'internal_error':
      return 500;
  }
}
