import { randomBytes } from 'node:crypto';
import { getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { checksumAddress } from './epoch-file';

describe('epoch file', () => {
  it("checksums addresses exactly as viem's getAddress does", () => {
    const samples = [
      '0x0000000000000000000000000000000000000000',
      '0xffffffffffffffffffffffffffffffffffffffff',
      ...Array.from({ length: 2000 }, () => `0x${randomBytes(20).toString('hex')}`),
    ];
    for (const lower of samples) {
      expect(checksumAddress(lower)).toBe(getAddress(lower));
      expect(checksumAddress(getAddress(lower))).toBe(getAddress(lower));
    }
  });
});
