// ignoreBOM: a name is its bytes; a plain decoder drops a leading U+FEFF, which made two ids print alike.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Numbers distinct byte strings (ids read from a file) by first appearance without making a string per
 * occurrence: an open-addressing hash table over the bytes themselves, so a repeated id costs a hash and
 * a compare, and only a new one is decoded (once) into `names`.
 */
export class ByteInterner {
  readonly names: string[] = [];
  /** Slot → id + 1 (0 = empty); the table is a power of two, at most half full. */
  private slots = new Int32Array(1 << 12);
  private hashes = new Int32Array(1 << 10);
  private offsets = new Int32Array(1 << 10);
  private lengths = new Int32Array(1 << 10);
  private arena = new Uint8Array(1 << 16);
  private used = 0;
  private last = -1;

  get size(): number {
    return this.names.length;
  }

  /** The id of `bytes[start, end)`, adding it if new. */
  intern(bytes: Uint8Array, start: number, end: number): number {
    const length = end - start;
    // Files are often sorted by task: the id of the previous row is checked before hashing.
    const last = this.last;
    if (last >= 0 && this.lengths[last] === length && this.sameBytes(last, bytes, start, length)) return last;
    // FNV-1a, 32 bits.
    let hash = 0x811c9dc5;
    for (let at = start; at < end; at += 1) hash = Math.imul(hash ^ (bytes[at] as number), 0x01000193);
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    for (;;) {
      const entry = this.slots[slot] as number;
      if (entry === 0) break;
      const id = entry - 1;
      if (this.hashes[id] === hash && this.lengths[id] === length && this.sameBytes(id, bytes, start, length))
        return id;
      slot = (slot + 1) & mask;
    }
    this.last = this.add(bytes, start, end, hash, slot);
    return this.last;
  }

  private sameBytes(id: number, bytes: Uint8Array, start: number, length: number): boolean {
    const arena = this.arena;
    const offset = this.offsets[id] as number;
    for (let at = 0; at < length; at += 1) if (arena[offset + at] !== bytes[start + at]) return false;
    return true;
  }

  private add(bytes: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const id = this.names.length;
    const length = end - start;
    if (id === this.hashes.length) {
      this.hashes = grow(this.hashes, id * 2);
      this.offsets = grow(this.offsets, id * 2);
      this.lengths = grow(this.lengths, id * 2);
    }
    if (this.used + length > this.arena.length) {
      const arena = new Uint8Array(Math.max(this.arena.length * 2, this.used + length));
      arena.set(this.arena.subarray(0, this.used));
      this.arena = arena;
    }
    this.arena.set(bytes.subarray(start, end), this.used);
    this.hashes[id] = hash;
    this.offsets[id] = this.used;
    this.lengths[id] = length;
    this.used += length;
    this.names.push(decoder.decode(bytes.subarray(start, end)));
    this.slots[slot] = id + 1;
    if ((id + 1) * 2 > this.slots.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.names.length; id += 1) {
      let slot = (this.hashes[id] as number) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.slots = slots;
  }
}

/** A copy of `array` with room for `length` entries. */
export function grow(array: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(length);
  next.set(array.subarray(0, Math.min(array.length, length)));
  return next;
}
