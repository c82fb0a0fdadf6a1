import { describe, expect, it } from 'vitest';
import { decodeBody } from './decode-text';
import { readCapped } from './read-capped';
import { pageRequestInit } from './request-init';
import { charsetOf, mediaTypeOf, retryAfterSecondsOf } from './response-checks';

function streamOf(chunks: Uint8Array[]) {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, wasCancelled: () => cancelled };
}

describe('pageRequestInit', () => {
  it('is a GET without credentials or cache that follows redirects and sends only Accept and Accept-Language', () => {
    const signal = new AbortController().signal;
    expect(pageRequestInit(signal)).toEqual({
      method: 'GET',
      headers: { accept: 'text/html,text/plain;q=0.9', 'accept-language': 'en;q=1.0, *;q=0.5' },
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'follow',
      referrerPolicy: 'no-referrer',
      signal,
    });
  });
});

describe('content type', () => {
  it('reads the media type and charset whatever the case and spacing', () => {
    expect(mediaTypeOf('Text/HTML; Charset="ISO-8859-1"')).toBe('text/html');
    expect(charsetOf('Text/HTML; Charset="ISO-8859-1"')).toBe('iso-8859-1');
    expect(mediaTypeOf(null)).toBeNull();
    expect(mediaTypeOf('  ')).toBeNull();
    expect(charsetOf('text/plain')).toBeNull();
  });
});

describe('retryAfterSecondsOf', () => {
  const now = Date.parse('2025-06-01T12:00:00Z');
  it('reads delay seconds and HTTP dates, never negative', () => {
    expect(retryAfterSecondsOf('120', now)).toBe(120);
    expect(retryAfterSecondsOf('Sun, 01 Jun 2025 12:01:30 GMT', now)).toBe(90);
    expect(retryAfterSecondsOf('Sun, 01 Jun 2025 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterSecondsOf('soon', now)).toBeNull();
    expect(retryAfterSecondsOf(null, now)).toBeNull();
  });
});

describe('readCapped', () => {
  it('returns the whole body when it fits', async () => {
    const { stream } = streamOf([new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect(await readCapped(stream, 3)).toEqual({ status: 'complete', bytes: new Uint8Array([1, 2, 3]) });
  });

  it('cancels the stream at the first chunk over the cap and counts what arrived', async () => {
    const { stream, wasCancelled } = streamOf([new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)]);
    expect(await readCapped(stream, 6)).toEqual({ status: 'too_large', received: 8 });
    expect(wasCancelled()).toBe(true);
  });

  it('reports a failed read with the bytes received before it', async () => {
    let sent = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) controller.error(new Error('connection reset'));
        else controller.enqueue(new Uint8Array(5));
        sent = true;
      },
    });
    expect(await readCapped(stream, 100)).toMatchObject({ status: 'failed', received: 5 });
  });
});

describe('decodeBody', () => {
  const latin1 = new Uint8Array([0x63, 0x61, 0x66, 0xe9]); // "café" in ISO-8859-1
  it('uses the header charset, then a meta charset in HTML, then UTF-8', () => {
    expect(decodeBody(latin1, 'text/plain; charset=iso-8859-1', false)).toBe('café');
    const html = new TextEncoder().encode('<meta charset="windows-1252"><p>');
    expect(decodeBody(new Uint8Array([...html, 0xe9]), 'text/html', true)).toBe('<meta charset="windows-1252"><p>é');
    expect(decodeBody(new TextEncoder().encode('café'), 'text/plain', false)).toBe('café');
  });

  it('lets a byte-order mark win and falls back to UTF-8 for unknown labels', () => {
    expect(decodeBody(new Uint8Array([0xff, 0xfe, 0x61, 0x00]), 'text/plain; charset=iso-8859-1', false)).toBe('a');
    expect(decodeBody(new TextEncoder().encode('é'), 'text/plain; charset=klingon', false)).toBe('é');
  });
});
