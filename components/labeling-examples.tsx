import type { LabelValue, LeasedTask } from '@protocol/labeling';

type Example = NonNullable<LeasedTask['examples']>[number];

/** A correct answer in words, as the buyer gave it (pairwise answers are A and B as listed). */
function answerText(answer: LabelValue): string {
  switch (answer.type) {
    case 'single_choice':
      return answer.choice;
    case 'multi_choice':
      return answer.choices.length === 0 ? 'none of them' : answer.choices.join(', ');
    case 'pairwise':
      return answer.preferred === 'tie' ? 'a tie' : `answer ${answer.preferred.toUpperCase()} is better`;
    case 'spans':
      return answer.spans.length === 0
        ? 'nothing to mark'
        : answer.spans.map((span) => `${span.label} (characters ${span.start}–${span.end})`).join('; ');
  }
}

/** An example's item. Images are named by address, never loaded: only the guarded fetcher may load them. */
function ExampleContent({ content }: { content: Example['content'] }) {
  switch (content.type) {
    case 'text':
      return <p className="whitespace-pre-wrap break-words">{content.text}</p>;
    case 'image':
      return (
        <p className="break-words">
          Image: <span className="font-mono text-xs">{content.imageUrl}</span>
          {content.caption && ` — ${content.caption}`}
        </p>
      );
    case 'pairwise':
      return (
        <div className="space-y-1">
          <p className="whitespace-pre-wrap break-words">{content.prompt}</p>
          <p className="whitespace-pre-wrap break-words">
            <span className="font-medium">A:</span> {content.answers[0]}
          </p>
          <p className="whitespace-pre-wrap break-words">
            <span className="font-medium">B:</span> {content.answers[1]}
          </p>
        </div>
      );
  }
}

/** The project's worked examples under its instructions: each item, its correct answer, and why. */
export function LabelingExamples({ examples }: { examples: readonly Example[] }) {
  if (examples.length === 0) return null;
  return (
    <section data-testid="examples" className="mt-3 space-y-2">
      <h4 className="font-medium">Examples</h4>
      <ol className="space-y-2">
        {examples.map((example, index) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the examples are fixed for the project and never reordered
          <li key={index} data-testid="example" className="rounded border border-sky-200 bg-white p-2">
            <ExampleContent content={example.content} />
            <p className="mt-1">
              <span className="font-medium">Correct answer:</span> {answerText(example.answer)}
            </p>
            {example.explanation && <p className="mt-1 text-slate-600">{example.explanation}</p>}
          </li>
        ))}
      </ol>
    </section>
  );
}
