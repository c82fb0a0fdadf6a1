import { type FetchFailure, fetchFailure } from './fetch-failure';
import { type FetchPageDeps, fetchGuarded } from './fetch-page';

/**
 * The image of a labeling task, fetched by the background for the popup. The buyer names the image
 * URL, and an `<img>` pointing at it would make the labeler's browser request whatever host the
 * buyer named (a router's admin page, a cloud metadata address, a local debugging port), with the
 * labeler's cookies. So the popup never loads a remote image: the background fetches it under the
 * same rules as a page (URL guard, redirect rules, connected-address check, no credentials, a byte
 * cap and a time limit), keeps only raster images it recognises, and hands the bytes over as a
 * `data:` URL. SVG is refused: it can carry scripts and links to other addresses.
 */

/** The image types the popup shows, as both the Content-Type and the file's own signature must say. */
export const imageMediaTypes = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif'] as const;
export type ImageMediaType = (typeof imageMediaTypes)[number];

/** The largest image fetched for a task. */
export const maxImageBytes = 5 * 1024 * 1024;
/** How long an image may take to arrive. */
export const imageTimeoutMs = 15_000;

const imageAccept = 'image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9';
const typeNames = 'PNG, JPEG, GIF, WebP or AVIF';

export type ImageFetch =
  | { ok: true; finalUrl: string; httpStatus: number; mediaType: ImageMediaType; bytes: Uint8Array }
  | { ok: false; failure: FetchFailure; bytesFetched: number };

const ascii = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));

/** The image type a file's first bytes announce (its signature), or null when it is none of the kept ones. */
export function sniffImageType(bytes: Uint8Array): ImageMediaType | null {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.every((byte, index) => bytes[index] === byte)) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (['GIF87a', 'GIF89a'].includes(ascii(bytes, 0, 6))) return 'image/gif';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'image/webp';
  if (ascii(bytes, 4, 8) === 'ftyp') {
    // An ISO-BMFF file type box: major brand, minor version, then compatible brands, four bytes each.
    const boxSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
    const end = Math.min(boxSize, bytes.byteLength, 64);
    for (let offset = 8; offset + 4 <= end; offset += 4) {
      if (offset === 12) continue;
      if (['avif', 'avis'].includes(ascii(bytes, offset, offset + 4))) return 'image/avif';
    }
  }
  return null;
}

function refuseType(mediaType: string | null): string {
  if (mediaType === 'image/svg+xml') {
    return `SVG images are not shown: they can carry scripts and links to other addresses. Only ${typeNames} images are.`;
  }
  return `${mediaType ?? 'A missing content type'} is not a ${typeNames} image.`;
}

/**
 * Fetches a task's image under the page fetcher's rules (see above). Never throws: the image with
 * the type its bytes announce, or a failure in words.
 */
export async function fetchImage(url: string, deps: FetchPageDeps): Promise<ImageFetch> {
  const fetched = await fetchGuarded(
    {
      url,
      maxBytes: maxImageBytes,
      timeoutMs: imageTimeoutMs,
      what: 'image',
      accept: imageAccept,
      keptMediaTypes: imageMediaTypes,
      refuseType,
    },
    deps,
  );
  if (!fetched.ok) return fetched;
  const { body } = fetched;
  const mediaType = sniffImageType(body.bytes);
  if (!mediaType) {
    return {
      ok: false,
      failure: fetchFailure('content_type', `The file sent as ${body.mediaType} is not a ${typeNames} image.`),
      bytesFetched: fetched.bytesFetched,
    };
  }
  return { ok: true, finalUrl: body.finalUrl, httpStatus: body.httpStatus, mediaType, bytes: body.bytes };
}

/** The image as a `data:` URL, the only kind of image source the extension's pages may load. */
export function imageDataUrl(mediaType: ImageMediaType, bytes: Uint8Array): string {
  let binary = '';
  // In slices: spreading megabytes into one call overflows the stack.
  for (let offset = 0; offset < bytes.byteLength; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return `data:${mediaType};base64,${btoa(binary)}`;
}
