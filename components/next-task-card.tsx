import type { LeasedTask } from '@protocol/labeling';
import { useEffect, useState } from 'react';
import { toErrorBody } from '@/lib/errors';
import { formatDateTime } from '@/lib/format';
import { type NextTask, type NoTaskReason, sendMessage } from '@/lib/messages';
import { hasConsent, type Settings } from '@/lib/settings';
import { ErrorText } from './ui/error-text';

/** A task in one line or two, to say what labeling holds before it is opened. */
function previewOf(task: LeasedTask): string {
  const { content } = task;
  switch (content.type) {
    case 'text':
      return content.text;
    case 'image':
      return content.caption ?? 'An image to label.';
    case 'pairwise':
      return content.prompt;
  }
}

/** How to get a task when there is none. */
function noTaskText(reason: NoTaskReason, settings: Settings): string {
  switch (reason) {
    case 'none':
      return 'No labeling tasks right now. New ones come as buyers add work.';
    case 'busy':
      return settings.nextTaskLeaseAt === null
        ? 'The server is busy; Gleaner asks for tasks again in a moment.'
        : `The server is busy; new tasks can come after ${formatDateTime(settings.nextTaskLeaseAt)}.`;
    case 'offline':
      return 'Tasks come once the server answers again. Labels you made wait and go up then.';
    case 'paused':
      return 'Labeling waits for the pause to end.';
    case 'no-consent':
      return 'Labeling starts once you agree in the settings.';
  }
}

/**
 * The popup's way into labeling: the next task (asked of the background, which leases a few when
 * its queue is empty) or how to get one, and the button that opens labeling as its own page.
 */
export function NextTaskCard({ settings, onOpen }: { settings: Settings; onOpen: () => void }) {
  const consent = hasConsent(settings);
  // What decides what the background can serve: a change asks again.
  const gate = `${consent}|${settings.connection.state}`;
  const [shown, setShown] = useState<NextTask | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!gate.startsWith('true')) return;
    let current = true;
    sendMessage('getNextTask', {})
      .then((next) => {
        if (!current) return;
        setShown(next);
        setError(null);
      })
      .catch((cause) => current && setError(toErrorBody(cause).message));
    return () => {
      current = false;
    };
  }, [gate]);

  const task = consent ? (shown?.task ?? null) : null;
  return (
    <section data-testid="labeling-entry" className="space-y-2 rounded-md border border-slate-200 px-3 py-2">
      <div className="flex items-baseline gap-2">
        <h2 className="text-sm font-medium">Labeling</h2>
        {task && shown && (
          <span data-testid="tasks-ready" className="text-xs text-slate-500">
            {shown.queued + 1} ready · {task.projectName}
          </span>
        )}
      </div>
      {task ? (
        <p
          data-testid="label-task"
          data-assignment-id={task.assignmentId}
          title={previewOf(task)}
          className="line-clamp-2 text-sm text-slate-800"
        >
          {previewOf(task)}
        </p>
      ) : (
        <p data-testid="no-task" className="text-xs text-slate-600">
          {!consent
            ? noTaskText('no-consent', settings)
            : shown
              ? noTaskText(shown.noTaskReason ?? 'none', settings)
              : 'Looking for a task…'}
        </p>
      )}
      {consent && (
        <button
          type="button"
          data-testid="open-labeling"
          onClick={onOpen}
          className="w-full rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800"
        >
          {task ? 'Start labeling' : 'Open labeling'}
        </button>
      )}
      <ErrorText error={error} testId="labeling-entry-error" />
    </section>
  );
}
