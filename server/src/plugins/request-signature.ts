import type { DigestSigner, SignerRecovery } from '@protocol/signing';
import * as secp256k1 from 'tiny-secp256k1';
import { bytesToHex, concat, type Hex, hexToBytes, isHex, keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/**
 * Signature recovery on libsecp256k1 (compiled to WebAssembly), for the server: it recovers a key in ~0.4 ms
 * where viem's @noble/curves takes ~4 ms, and every signed request needs one. The extension keeps signing
 * with viem; what it signs is the same digest either way.
 */

/** viem's reading of the v byte (`toRecoveryBit` in its recoverPublicKey): 27/28 or 0/1, nothing else. */
function recoveryBit(v: number): 0 | 1 {
  if (v === 0 || v === 27) return 0;
  if (v === 1 || v === 28) return 1;
  throw new Error(`Invalid yParityOrV value ${v}`);
}

/**
 * Recovers the signer's address (lower case) as viem's `recoverAddress` does, refusing exactly what it refuses:
 * r or s outside [1, n), an r that is no point's x, a v other than 0, 1, 27, 28, and a key at infinity.
 */
export const recoverSignerWithLibsecp256k1: SignerRecovery = (digest, signature) => {
  if (!isHex(signature) || signature.length !== 132) throw new Error('invalid signature length');
  const bytes = hexToBytes(signature);
  // Throws on a bad r or s; null when the recovered point is at infinity.
  const publicKey = secp256k1.recover(digest, bytes.subarray(0, 64), recoveryBit(bytes[64] ?? -1), false);
  if (!publicKey) throw new Error('no public key recovers from this signature');
  // The address is the last 20 bytes of keccak256 of the key's x and y (the uncompressed key without its 0x04).
  return bytesToHex(keccak256(publicKey.subarray(1), 'bytes').subarray(12));
};

/**
 * A device key that signs with libsecp256k1, byte for byte as viem's `signTypedData` does (RFC 6979 nonces,
 * low s, v = 27 + parity), for the load bench: its simulated devices share the server's CPU, and viem signs
 * in ~1.4 ms where this takes ~0.2 ms.
 */
export function libsecp256k1Signer(privateKey: Hex): DigestSigner {
  const key = hexToBytes(privateKey);
  return {
    address: privateKeyToAccount(privateKey).address,
    signDigest(digest) {
      const { signature, recoveryId } = secp256k1.signRecoverable(digest, key);
      // viem writes v = 28 for any non-zero recovery id (2 and 3 need r >= n, about 2^-128 likely).
      return bytesToHex(concat([signature, new Uint8Array([recoveryId ? 28 : 27])]));
    },
  };
}
