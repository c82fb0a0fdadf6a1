import type { LeasedTask } from '@protocol/labeling';
import { type ReactElement, type Ref, useEffect, useState } from 'react';
import { toErrorBody } from '@/lib/errors';
import type { Span } from '@/lib/label-answer';
import { logger } from '@/lib/logger';
import { type TaskImage as LoadedImage, sendMessage } from '@/lib/messages';
import { SpanText } from './span-text';

const scrollBox =
  'overflow-auto whitespace-pre-wrap break-words rounded-md border border-slate-200 bg-white p-3 text-sm';

/**
 * What is to be labeled, sized for the popup (about 380 × 600): long texts scroll in their box,
 * images fit the width with a capped height, and a pairwise task shows its prompt on top and the
 * two answers side by side, each scrolling on its own.
 */
export function TaskContent({
  task,
  spans,
  textRef,
}: {
  task: LeasedTask;
  /** The spans marked so far (span tasks only). */
  spans: readonly Span[];
  /** The text box, for reading the person's selection (span tasks only). */
  textRef?: Ref<HTMLDivElement>;
}) {
  const { content, labelSchema } = task;
  switch (content.type) {
    case 'text':
      return labelSchema.type === 'spans' ? (
        <SpanText ref={textRef} text={content.text} spans={spans} labels={labelSchema.labels} />
      ) : (
        <div data-testid="task-text" className={`max-h-56 bg-white ${scrollBox}`}>
          {content.text}
        </div>
      );
    case 'image':
      return <TaskImage assignmentId={task.assignmentId} caption={content.caption} />;
    case 'pairwise':
      return (
        <div className="space-y-2">
          <div data-testid="task-prompt" className={`max-h-28 bg-slate-50 font-medium ${scrollBox}`}>
            {content.prompt}
          </div>
          <div className="grid grid-cols-2 gap-2">
            <section aria-label="Left answer" className="min-w-0">
              <h3 className="mb-1 text-xs font-medium text-slate-600">Left (1)</h3>
              <div data-testid="task-left" className={`max-h-44 bg-white ${scrollBox}`}>
                {content.left}
              </div>
            </section>
            <section aria-label="Right answer" className="min-w-0">
              <h3 className="mb-1 text-xs font-medium text-slate-600">Right (2)</h3>
              <div data-testid="task-right" className={`max-h-44 bg-white ${scrollBox}`}>
                {content.right}
              </div>
            </section>
          </div>
        </div>
      );
  }
}

/** Only an image the background fetched and handed over as bytes is ever shown: never a remote address. */
const isInlineImage = (src: string) => /^data:image\/(png|jpeg|gif|webp|avif);base64,/.test(src);

/**
 * A task's image. The buyer chose its address, so the popup never requests it: an `<img>` pointing
 * there would make the labeler's browser call whatever host the buyer named (a router, a metadata
 * address, a local port), with the labeler's cookies. The background fetches it under the page
 * fetcher's guards and answers the bytes as a `data:` URL (and the pages' CSP allows no other
 * image source); until then a loading note shows, and a refusal says why.
 */
function TaskImage({ assignmentId, caption }: { assignmentId: string; caption: string | undefined }) {
  const [shown, setShown] = useState<{ assignmentId: string; image: LoadedImage } | null>(null);
  useEffect(() => {
    let current = true;
    sendMessage('loadTaskImage', { assignmentId })
      .catch((cause): LoadedImage => {
        logger.warn('Loading a task image failed.', cause);
        return { status: 'refused', reason: toErrorBody(cause).message };
      })
      .then((image) => {
        if (current) setShown({ assignmentId, image });
      });
    return () => {
      current = false;
    };
  }, [assignmentId]);

  const image = shown?.assignmentId === assignmentId ? shown.image : null;
  const box = 'mx-auto max-h-64 w-full rounded-md border border-slate-200 bg-slate-50';
  let picture: ReactElement;
  if (image === null) {
    picture = (
      <div data-testid="task-image-loading" role="status" className={`${box} p-6 text-center text-sm text-slate-500`}>
        Loading the image…
      </div>
    );
  } else if (image.status === 'loaded' && isInlineImage(image.dataUrl)) {
    picture = (
      <img
        data-testid="task-image"
        src={image.dataUrl}
        alt={caption ?? 'The image to label'}
        className={`${box} object-contain`}
      />
    );
  } else {
    const reason =
      image.status === 'refused' ? image.reason : 'the background answered something that is not an image.';
    picture = (
      <p
        data-testid="task-image-refused"
        role="alert"
        className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900"
      >
        This image could not be loaded safely: {reason}
      </p>
    );
  }
  return (
    <figure className="space-y-1">
      {picture}
      {caption && <figcaption className="text-xs text-slate-600">{caption}</figcaption>}
    </figure>
  );
}
