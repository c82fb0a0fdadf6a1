import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';

/**
 * The content id a file is pinned under on IPFS/Filecoin: CIDv1, raw codec (the bytes as they are, no UnixFS
 * wrapping, so the id depends on the bytes only), sha2-256, in base32 (`b…`, what gateways and `ipfs` print).
 */
export async function contentIdOf(bytes: Uint8Array): Promise<string> {
  return CID.create(1, raw.code, await sha256.digest(bytes)).toString();
}
