import { extractedPageSchema, extractionInputSchema } from '@protocol/extract/extract-page';
import { z } from 'zod';

/** Marks the background's messages to the offscreen document, so the pages' messages are left to the background. */
const offscreenTarget = 'gleaner-offscreen';

export const extractRequestSchema = z.object({
  target: z.literal(offscreenTarget),
  type: z.literal('extract'),
  input: extractionInputSchema,
});
export type ExtractRequest = z.infer<typeof extractRequestSchema>;

export const extractReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), page: extractedPageSchema }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
export type ExtractReply = z.infer<typeof extractReplySchema>;

/** The message asking the offscreen document to extract one page. */
export function extractRequest(input: ExtractRequest['input']): ExtractRequest {
  return { target: offscreenTarget, type: 'extract', input };
}
