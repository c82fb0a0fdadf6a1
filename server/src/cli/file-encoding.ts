import { isUtf8 } from 'node:buffer';
import { type FileHandle, open } from 'node:fs/promises';
import { BaseError } from '@protocol/errors';
// Windows-1252 from its table: this Node's TextDecoder reads 0x80–0x9F as C1 controls (see there).
import { decodeWindows1252 } from '@protocol/extract/decode-text';

/** The encodings `--encoding` accepts, by the name TextDecoder knows them. */
const encodingNames = {
  utf8: 'utf-8',
  'utf-8': 'utf-8',
  utf16le: 'utf-16le',
  'utf-16le': 'utf-16le',
  utf16be: 'utf-16be',
  'utf-16be': 'utf-16be',
  // The WHATWG decoder behind both names is Windows-1252, a superset of Latin-1's printable characters.
  latin1: 'windows-1252',
  'iso-8859-1': 'windows-1252',
  'windows-1252': 'windows-1252',
  cp1252: 'windows-1252',
} as const;

type Encoding = (typeof encodingNames)[keyof typeof encodingNames];

const shownName: Record<Encoding, string> = {
  'utf-8': 'UTF-8',
  'utf-16le': 'UTF-16LE',
  'utf-16be': 'UTF-16BE',
  'windows-1252': 'Latin-1/Windows-1252',
};

/** The decoder name for an `--encoding` value (undefined: not given); unknown names are refused. */
export function encodingOption(value: string | undefined): Encoding | undefined {
  if (value === undefined) return undefined;
  const name = encodingNames[value.toLowerCase() as keyof typeof encodingNames];
  if (!name) {
    throw new BaseError(
      'bad_request',
      `--encoding must be utf8, utf16le, utf16be or latin1 (windows-1252), not "${value}".`,
    );
  }
  return name;
}

const chunkSize = 1 << 20;
const encoder = new TextEncoder();

/**
 * Reads the 1-based line of byte `offset` again from the file: only on the error path. Lines end as the CSV
 * reader ends them (LF, CRLF or a lone CR), so the line named is the one the reader would name.
 */
async function lineAt(handle: FileHandle, offset: number): Promise<number> {
  const buffer = Buffer.alloc(chunkSize);
  let line = 1;
  let afterCarriageReturn = false;
  for (let position = 0; position < offset; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(chunkSize, offset - position), position);
    if (bytesRead === 0) break;
    for (let at = 0; at < bytesRead; at += 1) {
      const code = buffer[at];
      // A CR counts at once; the LF of a CRLF then does not count again.
      if (code === 13 || (code === 10 && !afterCarriageReturn)) line += 1;
      afterCarriageReturn = code === 13;
    }
    position += bytesRead;
  }
  return line;
}

/**
 * Where a UTF-16 file first goes wrong, read again from the start: only on the error path, after the decoder
 * refused a chunk (it says neither where nor why). Lines count as `lineAt` counts them, in code units.
 */
async function firstInvalidUtf16(
  handle: FileHandle,
  littleEndian: boolean,
  start: number,
): Promise<{ offset: number; line: number; problem: string } | null> {
  const buffer = Buffer.alloc(chunkSize);
  let line = 1;
  let afterCarriageReturn = false;
  // A high surrogate waiting for its low half: its unit and byte offset.
  let high: { unit: number; offset: number; line: number } | null = null;
  const unpaired = (unit: number) => `an unpaired surrogate 0x${unit.toString(16).toUpperCase()}`;
  let position = start;
  // A byte of a pair that the last read cut off (a short read can end anywhere).
  let carried: number | null = null;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, chunkSize, position);
    if (bytesRead === 0) break;
    let at = 0;
    const unitAt = (first: number, second: number) => (littleEndian ? first | (second << 8) : (first << 8) | second);
    for (;;) {
      let unit: number;
      let offset: number;
      if (carried !== null) {
        unit = unitAt(carried, buffer[0] as number);
        offset = position - 1;
        carried = null;
        at = 1;
      } else if (at + 1 < bytesRead) {
        unit = unitAt(buffer[at] as number, buffer[at + 1] as number);
        offset = position + at;
        at += 2;
      } else {
        if (at < bytesRead) carried = buffer[at] as number;
        break;
      }
      const isLow = unit >= 0xdc00 && unit <= 0xdfff;
      if (high && !isLow) return { offset: high.offset, line: high.line, problem: unpaired(high.unit) };
      if (isLow && !high) return { offset, line, problem: unpaired(unit) };
      high = unit >= 0xd800 && unit <= 0xdbff ? { unit, offset, line } : null;
      if (unit === 13 || (unit === 10 && !afterCarriageReturn)) line += 1;
      afterCarriageReturn = unit === 13;
    }
    position += bytesRead;
  }
  if (high) return { offset: high.offset, line: high.line, problem: unpaired(high.unit) };
  if (carried !== null) {
    return { offset: position - 1, line, problem: 'a lone byte at the end of the file (UTF-16 needs byte pairs)' };
  }
  // The file reads as valid now: it changed since the decoder read it.
  return null;
}

/** Where the first invalid UTF-8 sequence starts in `bytes` (which isUtf8 rejected). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let at = 0;
  while (at < bytes.length) {
    const lead = bytes[at] as number;
    const size =
      lead < 0x80
        ? 1
        : lead >= 0xc2 && lead < 0xe0
          ? 2
          : lead >= 0xe0 && lead < 0xf0
            ? 3
            : lead >= 0xf0 && lead < 0xf5
              ? 4
              : 0;
    if (size === 0 || !isUtf8(bytes.subarray(at, at + size))) return at;
    at += size;
  }
  return at;
}

/** How many bytes at the end of `bytes` start a UTF-8 character that continues in the next chunk. */
function unfinishedTail(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back] as number;
    if (byte < 0x80) return 0;
    if (byte >= 0xc0) {
      const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return size > back ? back : 0;
    }
  }
  return 0;
}

/** UTF-32 shows as three NULs beside most ASCII characters (with or without a byte-order mark). */
function looksLikeUtf32(bytes: Uint8Array): boolean {
  if (startsWith(bytes, [0xff, 0xfe, 0, 0]) || startsWith(bytes, [0, 0, 0xfe, 0xff])) return true;
  const sample = Math.min(bytes.length, 512) & ~3;
  if (sample < 8) return false;
  let triples = 0;
  for (let at = 0; at < sample; at += 4) {
    const [a, b, c, d] = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    // One character: three NULs beside a non-NUL byte (a run of NULs alone is a file's zeroed tail, not UTF-32).
    if ((a !== 0 && b === 0 && c === 0 && d === 0) || (a === 0 && b === 0 && c === 0 && d !== 0)) triples += 1;
  }
  return triples > sample / 8;
}

/** UTF-16 without a byte-order mark shows as a NUL beside most ASCII characters. */
function utf16WithoutMark(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const sample = Math.min(bytes.length, 512) & ~1;
  let even = 0;
  let odd = 0;
  for (let at = 0; at < sample; at += 2) {
    if (bytes[at] === 0) even += 1;
    if (bytes[at + 1] === 0) odd += 1;
  }
  if (sample < 4) return null;
  // Mostly, not only: a character like 一 (U+4E00) has a NUL byte on the other side.
  if (odd > sample / 4 && even <= odd / 8) return 'utf-16le';
  if (even > sample / 4 && odd <= even / 8) return 'utf-16be';
  return null;
}

function startsWith(bytes: Uint8Array, mark: readonly number[]): boolean {
  return mark.every((byte, at) => bytes[at] === byte);
}

/**
 * Streams a text file to `sink` as UTF-8 bytes, chunk by chunk, and returns how it was read. Without
 * `declared`, a UTF-8 or UTF-16 byte-order mark decides (a mark is the file saying its encoding, not a
 * guess); anything else must be valid UTF-8, and a file that is not is refused with the encoding it looks
 * like, because decoding it as UTF-8 would silently merge labels (Latin-1 "café" and "cafè" both become
 * "caf\uFFFD"). With `declared`, the file is decoded as that.
 */
export async function readAsUtf8(
  path: string,
  what: string,
  declared: Encoding | undefined,
  sink: (chunk: Uint8Array) => void,
): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (cause) {
    throw new BaseError('bad_request', `Cannot read the ${what} file ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    // The reader reads at positions (a failed read can say where); a pipe or a folder cannot be read so.
    const kind = await handle.stat();
    if (!kind.isFile()) {
      throw new BaseError(
        'bad_request',
        `Cannot read the ${what} file ${path}: it is ${kind.isDirectory() ? 'a folder' : 'not a regular file (a pipe or a device)'}; save the ${what} to a file and give its path.`,
      );
    }
    return await stream(handle, path, declared, sink);
  } finally {
    await handle.close();
  }
}

async function stream(
  handle: FileHandle,
  path: string,
  declared: Encoding | undefined,
  sink: (chunk: Uint8Array) => void,
): Promise<string> {
  // One buffer, reused: the CSV reader copies what it keeps (an unfinished line, new ids).
  // A plain Uint8Array, like every other buffer the CSV reader sees: mixing in Buffers makes its byte loop polymorphic.
  const buffer = new Uint8Array(chunkSize);
  let position = 0;
  const read = async () => {
    const { bytesRead } = await handle.read(buffer, 0, chunkSize, position);
    position += bytesRead;
    return buffer.subarray(0, bytesRead);
  };
  let chunk = await read();
  // Before the UTF-16 mark: UTF-32LE's mark starts with it. A guess, so not when --encoding says otherwise.
  if (!declared && looksLikeUtf32(chunk)) {
    throw new BaseError(
      'bad_request',
      `${path} looks like UTF-32, which this does not read: convert it to UTF-8 first (iconv -f UTF-32 -t UTF-8).`,
    );
  }
  const mark = startsWith(chunk, [0xef, 0xbb, 0xbf])
    ? 'utf-8'
    : startsWith(chunk, [0xff, 0xfe])
      ? 'utf-16le'
      : startsWith(chunk, [0xfe, 0xff])
        ? 'utf-16be'
        : null;
  if (mark && declared && mark !== declared) {
    throw new BaseError(
      'bad_request',
      `${path} starts with a ${shownName[mark]} byte-order mark, but --encoding says ${shownName[declared]}; drop --encoding or fix the file.`,
    );
  }
  const encoding = mark ?? declared ?? 'utf-8';
  const how = mark
    ? `${shownName[mark]} (byte-order mark)`
    : declared
      ? `${shownName[declared]} (--encoding)`
      : 'UTF-8';

  if (encoding === 'windows-1252') {
    // One byte, one character: no state between chunks, and no byte is invalid.
    while (chunk.length > 0) {
      sink(encoder.encode(decodeWindows1252(chunk)));
      chunk = await read();
    }
    return how;
  }
  if (encoding !== 'utf-8') {
    // fatal: an unpaired UTF-16 surrogate is an error, not a silent U+FFFD.
    const decoder = new TextDecoder(encoding, { fatal: true });
    // Only the decoder's own refusal is diagnosed: a failing read or sink keeps its error.
    const decode = async (bytes?: Uint8Array) => {
      try {
        return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
      } catch (cause) {
        if ((cause as { code?: string }).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw cause;
        const found = await firstInvalidUtf16(handle, encoding === 'utf-16le', mark ? 2 : 0);
        throw new BaseError(
          'bad_request',
          found
            ? `${path} is not valid ${shownName[encoding]} at line ${found.line}: ${found.problem} at byte ${found.offset}; fix that line or re-save the file as UTF-8.`
            : `${path} is not valid ${shownName[encoding]}, but reads as valid now: it changed while it was read; try again.`,
          { cause },
        );
      }
    };
    while (chunk.length > 0) {
      sink(encoder.encode(await decode(chunk)));
      chunk = await read();
    }
    sink(encoder.encode(await decode()));
    return how;
  }

  if (!declared) {
    const utf16 = utf16WithoutMark(chunk);
    if (utf16) {
      throw new BaseError(
        'bad_request',
        `${path} is not UTF-8: it looks like ${shownName[utf16]} without a byte-order mark; re-run with --encoding ${utf16.replace('-', '')}.`,
      );
    }
  }
  let start = mark ? 3 : 0;
  let offset = start;
  let tail: Uint8Array | null = null;
  while (chunk.length > 0) {
    let data: Uint8Array = chunk.subarray(start);
    start = 0;
    if (tail) {
      const joined = new Uint8Array(tail.length + data.length);
      joined.set(tail);
      joined.set(data, tail.length);
      data = joined;
      tail = null;
    }
    const cut = data.length - unfinishedTail(data);
    const whole = data.subarray(0, cut);
    if (!isUtf8(whole))
      await refuseNotUtf8(handle, path, offset + firstInvalidUtf8(whole), whole, firstInvalidUtf8(whole));
    sink(whole);
    offset += cut;
    // A copy: the read buffer is reused for the next chunk.
    if (cut < data.length) tail = new Uint8Array(data.subarray(cut));
    chunk = await read();
  }
  if (tail) await refuseNotUtf8(handle, path, offset, tail, 0);
  return how;
}

async function refuseNotUtf8(
  handle: FileHandle,
  path: string,
  fileOffset: number,
  bytes: Uint8Array,
  at: number,
): Promise<never> {
  const line = await lineAt(handle, fileOffset);
  const byte = bytes[at] as number;
  const asLatin1 = decodeWindows1252(bytes.subarray(at, at + 1));
  throw new BaseError(
    'bad_request',
    `${path} is not UTF-8 (looks like Latin-1/Windows-1252 at line ${line}: the byte 0x${byte
      .toString(16)
      .toUpperCase()
      .padStart(
        2,
        '0',
      )} would be "${asLatin1}"); re-run with --encoding latin1, or name its encoding (utf8, utf16le, utf16be, latin1).`,
  );
}
