import { useEffect, useId, useState } from 'react';
import { toErrorBody } from '@/lib/errors';
import type { LabelingProjectsReply } from '@/lib/labeling-views';
import { logger } from '@/lib/logger';
import { sendMessage } from '@/lib/messages';
import { focusRing } from './answer-controls';

type ListedProject = LabelingProjectsReply['projects'][number];

/** A project's progress in words: the crowd's on its items, and the labeler's own answers. */
function progressText(project: ListedProject): string {
  const count = (n: number) => n.toLocaleString('en-US');
  return `${count(project.itemsComplete)} of ${count(project.items)} items done by the crowd; you did ${count(project.yourLabels)}`;
}

/**
 * The choice of project when several have work, with the chosen one's progress. Re-read from the
 * server whenever `revision` changes (after each answer and each verdict), so the counts follow the work.
 */
export function LabelingProjectPicker({
  revision,
  disabled,
  onChoose,
}: {
  revision: string;
  disabled: boolean;
  onChoose: (projectId: string | null) => Promise<void>;
}) {
  const [reply, setReply] = useState<LabelingProjectsReply | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  // biome-ignore lint/correctness/useExhaustiveDependencies: revision is the signal to read again
  useEffect(() => {
    let current = true;
    sendMessage('getLabelingProjects', {})
      .then((next) => {
        if (current) setReply(next);
      })
      .catch((cause) => {
        logger.warn('Could not list the labeling projects.', cause);
        if (current) setError(toErrorBody(cause).message);
      });
    return () => {
      current = false;
    };
  }, [revision]);

  if (!reply) return error ? <p className="text-sm text-red-800">{error}</p> : null;
  const chosen = reply.projects.find((project) => project.id === reply.chosenProjectId) ?? null;
  // A chosen project drops out of the list once it has no more work for this labeler: still name it.
  const chosenGone = reply.chosenProjectId !== null && chosen === null;
  return (
    <div data-testid="project-picker" className="space-y-1 text-sm">
      <label htmlFor={id} className="font-medium">
        Project
      </label>
      <select
        id={id}
        data-testid="project-choice"
        value={reply.chosenProjectId ?? ''}
        disabled={disabled}
        onChange={(event) => void onChoose(event.target.value === '' ? null : event.target.value)}
        className={`block w-full rounded-md border border-slate-300 bg-white px-2 py-1.5 ${focusRing}`}
      >
        <option value="">Any project with work</option>
        {reply.projects.map((project) => (
          <option key={project.id} value={project.id}>
            {project.name}
          </option>
        ))}
        {chosenGone && <option value={reply.chosenProjectId ?? ''}>The chosen project (no more work for you)</option>}
      </select>
      {chosen && (
        <p data-testid="project-progress" className="text-slate-600">
          {progressText(chosen)}.
        </p>
      )}
      {reply.unavailable && <p className="text-slate-600">{reply.unavailable}</p>}
      {!reply.unavailable && reply.projects.length === 0 && (
        <p className="text-slate-600">No project has work for you right now.</p>
      )}
    </div>
  );
}
