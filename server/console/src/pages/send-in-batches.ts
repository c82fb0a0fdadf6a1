import { batches } from '../parse/url-list';

/**
 * Sends `items` in batches of at most `size`, one request at a time, folding each answer into the upload
 * and reporting after each. A failed batch throws; the last report then says how far the upload got, so
 * the caller can resume with what is left.
 */
export async function sendInBatches<Item, Answer, Upload>({
  upload,
  items,
  size,
  send,
  fold,
  onProgress,
}: {
  upload: Upload;
  items: readonly Item[];
  size: number;
  send: (batch: Item[]) => Promise<Answer>;
  /** The upload with one more batch answered; a new object, as the reports before it are kept in state. */
  fold: (upload: Upload, batch: Item[], answer: Answer) => Upload;
  onProgress: (upload: Upload) => void;
}): Promise<Upload> {
  let current = upload;
  for (const batch of batches(items, size)) {
    current = fold(current, batch, await send(batch));
    onProgress(current);
  }
  return current;
}
