// The hash lives in protocol/ so that the server hashes its own copy of a page as the extension does.
export { textSha256 } from '@protocol/extract/text-hash';
