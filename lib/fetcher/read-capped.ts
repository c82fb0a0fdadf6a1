export type CappedRead =
  | { status: 'complete'; bytes: Uint8Array }
  | { status: 'too_large'; received: number }
  | { status: 'failed'; received: number; error: unknown };

/**
 * Reads a response body chunk by chunk, stopping (and cancelling the stream) as soon as more than
 * `maxBytes` arrived, so an oversized page costs at most one chunk beyond the cap. `received`
 * counts the bytes that did arrive, for the daily budget; a read that fails (an abort, a broken
 * connection) reports them too.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<CappedRead> {
  if (!body) return { status: 'complete', bytes: new Uint8Array() };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        await reader.cancel().catch(() => {});
        return { status: 'too_large', received };
      }
      chunks.push(value);
    }
  } catch (error) {
    return { status: 'failed', received, error };
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { status: 'complete', bytes };
}
