// Decoding moved to protocol/ so that the server decodes pages exactly as the extension does.
export { decodeBody } from '@protocol/extract/decode-text';
