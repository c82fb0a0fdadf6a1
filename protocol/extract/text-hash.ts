import { normalizeText } from '../results';

/** Hex SHA-256 of the normalized text as UTF-8: what the server recomputes and redundant fetches compare. */
export async function textSha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(normalizeText(text)));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
