import type { LeasedTask } from '@protocol/labeling';
import type { Ref } from 'react';
import type { Span } from '@/lib/label-answer';
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
      return (
        <figure className="space-y-1">
          <img
            data-testid="task-image"
            src={content.imageUrl}
            alt={content.caption ?? 'The image to label'}
            // The buyer's image host learns nothing about where the labeler came from.
            referrerPolicy="no-referrer"
            className="mx-auto max-h-64 w-full rounded-md border border-slate-200 bg-slate-50 object-contain"
          />
          {content.caption && <figcaption className="text-xs text-slate-600">{content.caption}</figcaption>}
        </figure>
      );
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
