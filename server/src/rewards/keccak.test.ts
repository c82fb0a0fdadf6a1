import { bytesToHex, keccak256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { keccak256Into, maxKeccakInputBytes } from './keccak';

/** A deterministic PRNG (mulberry32), so a failure names inputs that can be replayed. */
function seededBytes(seed: number, length: number): Uint8Array {
  let state = seed >>> 0;
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 1) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    bytes[index] = (t ^ (t >>> 14)) >>> 24;
  }
  return bytes;
}

function digest(input: Uint8Array, from = 0, length = input.length): string {
  const out = new Uint8Array(32);
  keccak256Into(input, from, length, out, 0);
  return bytesToHex(out);
}

describe('keccak256Into', () => {
  it('hashes the empty input to the published keccak256 of nothing', () => {
    expect(digest(new Uint8Array(0))).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  });

  it("equals viem's keccak256 on every input length it takes, at any offset", () => {
    for (let length = 0; length <= maxKeccakInputBytes; length += 1) {
      for (let seed = 0; seed < 8; seed += 1) {
        const buffer = seededBytes(length * 100 + seed, length + 2 * seed);
        const input = buffer.subarray(seed, seed + length);
        expect(digest(buffer, seed, length), `length ${length}, seed ${seed}`).toBe(keccak256(input));
      }
    }
  });

  it('pads edge bytes right: all-0xff and all-zero inputs at the block boundary', () => {
    for (const length of [0, 1, 31, 32, 33, 63, 64, 65, 134, 135]) {
      for (const fill of [0x00, 0xff, 0x01, 0x80]) {
        const input = new Uint8Array(length).fill(fill);
        expect(digest(input), `length ${length}, fill ${fill}`).toBe(keccak256(input));
      }
    }
  });

  it('writes at the given offset and nowhere else, even over its own input', () => {
    const input = seededBytes(7, 64);
    const out = new Uint8Array(96).fill(0xaa);
    keccak256Into(input, 0, 64, out, 40);
    expect(bytesToHex(out.subarray(40, 72))).toBe(keccak256(input));
    expect(out.subarray(0, 40).every((byte) => byte === 0xaa)).toBe(true);
    expect(out.subarray(72).every((byte) => byte === 0xaa)).toBe(true);

    // The tree hashes a node's two children into the node's own buffer: in place must work too.
    const shared = seededBytes(8, 96);
    const expected = keccak256(shared.subarray(16, 80));
    keccak256Into(shared, 16, 64, shared, 32);
    expect(bytesToHex(shared.subarray(32, 64))).toBe(expected);
  });

  it('refuses an input longer than one block instead of hashing it wrong', () => {
    expect(() => keccak256Into(new Uint8Array(136), 0, 136, new Uint8Array(32), 0)).toThrow(/at most 135 bytes/);
  });
});
