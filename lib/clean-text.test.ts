import { normalizeText } from '@protocol/results';
import { describe, expect, it } from 'vitest';
import { cleanRecord, cleanStrings, cleanText, findUncleanText, isCleanText } from './clean-text';
import { textSha256 } from './extract/text-hash';

describe('cleanText', () => {
  it('removes NUL characters and replaces unpaired surrogates with U+FFFD', () => {
    expect(cleanText('a\u0000b')).toBe('ab');
    expect(cleanText('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz');
    expect(cleanText('cut at the end \uD83D')).toBe('cut at the end \uFFFD');
  });

  it('keeps paired surrogates (emoji) and every other character', () => {
    const text = 'Grüße 😀 \t\u0001\u007f\uFFFE';
    expect(cleanText(text)).toBe(text);
    expect(isCleanText(text)).toBe(true);
  });

  it('never joins the halves of a pair that a NUL separated into a new character', () => {
    expect(cleanText('\uD83D\u0000\uDE00')).toBe('\uFFFD\uFFFD');
  });
});

describe('cleanStrings', () => {
  it('cleans strings at any depth and leaves other values alone', () => {
    const dirty = { a: 'x\u0000', b: [1, 'y\uD800', { c: null, d: true, e: 'ok' }] };
    expect(cleanStrings(dirty)).toEqual({ a: 'x', b: [1, 'y\uFFFD', { c: null, d: true, e: 'ok' }] });
    expect(dirty.a).toBe('x\u0000');
  });

  it('answers the very same value when nothing needed cleaning', () => {
    const clean = { a: 'x', b: ['y', { c: 'z' }] };
    expect(cleanStrings(clean)).toBe(clean);
  });
});

describe('findUncleanText', () => {
  it('names the first string the server would refuse', () => {
    expect(findUncleanText({ title: 'ok', links: ['ok', 'bad\u0000'] })).toBe('links.1');
    expect(findUncleanText({ title: 'ok' })).toBeNull();
  });
});

describe('cleanRecord', () => {
  it('recomputes the hash of a page whose text it cleaned', async () => {
    const text = 'Line\u0000 one \uD800';
    const queued = { outcome: 'fetched', title: 'T', text, textSha256: await textSha256(text) };
    const sent = (await cleanRecord(queued)) as typeof queued;
    expect(sent.text).toBe('Line one \uFFFD');
    expect(sent.textSha256).toBe(await textSha256(normalizeText('Line one \uFFFD')));
    expect(queued.text).toBe(text);
  });

  it('keeps the hash when only another field changed, and the record itself when nothing did', async () => {
    const page = { outcome: 'fetched', title: 'T\u0000', text: 'same', textSha256: 'h' };
    expect(await cleanRecord(page)).toEqual({ ...page, title: 'T' });
    const label = { kind: 'label', assignmentId: '1', skipped: true };
    expect(await cleanRecord(label)).toBe(label);
  });
});
