import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { toErrorBody } from '@/lib/errors';
import { formatDateTime } from '@/lib/format';
import {
  addSpan,
  answerOf,
  chooseOption,
  type Draft,
  emptyDraft,
  optionsOf,
  removeSpan,
  toggleNothingToMark,
} from '@/lib/label-answer';
import { logger } from '@/lib/logger';
import { type NextTask, type NoTaskReason, sendMessage } from '@/lib/messages';
import { hasConsent, isPaused, type Settings } from '@/lib/settings';
import { AnswerControls, focusRing } from './answer-controls';
import { KeysHelp } from './keys-help';
import { LabelerStanding } from './labeler-standing';
import { LabelingExamples } from './labeling-examples';
import { LabelingProjectPicker } from './labeling-project-picker';
import { LabelingRecent, useRecentLabels } from './labeling-recent';
import { selectedOffsets } from './span-text';
import { TaskContent } from './task-content';
import { ErrorText } from './ui/error-text';
import { useLabelKeys } from './use-label-keys';
import { useNow } from './use-now';

function noTaskText(reason: NoTaskReason, settings: Settings): string {
  const { pausedUntil, nextTaskLeaseAt } = settings;
  switch (reason) {
    case 'none':
      return 'No labeling tasks right now. New ones come as buyers add work: check again later.';
    case 'busy':
      return nextTaskLeaseAt === null
        ? 'The server is busy and asked Gleaner to wait before asking for tasks again.'
        : `The server is busy and asked Gleaner to wait: new tasks can come after ${formatDateTime(nextTaskLeaseAt)}.`;
    case 'offline':
      return 'No tasks are queued and Gleaner cannot reach the server right now. Labels you made wait and go up once it is back.';
    case 'paused':
      return pausedUntil === null
        ? 'Gleaner is paused: labeling resumes when the pause ends.'
        : `Gleaner is paused until ${formatDateTime(pausedUntil)}: labeling resumes then.`;
    case 'no-consent':
      return 'Gleaner is not running. Open the settings to read what it does and to agree.';
  }
}

/**
 * A mouse click on these toggles leaves the focus where it was, so the next Enter still submits
 * (Enter on a button focused with Tab presses that button, as people expect).
 */
const keepFocus = (event: { preventDefault: () => void }) => event.preventDefault();

const secondaryButton = `rounded-md border border-slate-300 px-2.5 py-1 text-sm hover:bg-slate-100 disabled:opacity-60 ${focusRing}`;

/**
 * Labeling, keyboard first: one task at a time from the background's queue, number keys to answer,
 * Enter to submit, S to skip, ? for the keys; every key also has a button. After each submission the
 * standing (gold accuracy, label points, why labels stop counting) follows the copy the background
 * stores in the settings. A label can be undone while it waits to be sent. `full` (the labeling
 * page) adds the choice of project with its progress, the instructions open, and the recent labels.
 */
export function LabelingPanel({ settings, full = false }: { settings: Settings; full?: boolean }) {
  const now = useNow(full ? 1000 : 10_000);
  const recent = useRecentLabels();
  const [revision, setRevision] = useState(0);
  // The conditions that decide what the background can serve: a change asks for a task again.
  const gate = `${hasConsent(settings)}|${isPaused(settings, now)}|${settings.connection.state}`;
  const [shown, setShown] = useState<{ gate: string; next: NextTask } | null>(null);
  const [draftState, setDraftState] = useState<{ assignmentId: string; draft: Draft } | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const [instructionsOpen, setInstructionsOpen] = useState(full);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [hint, setHint] = useState<string | null>(null);
  const textRef = useRef<HTMLDivElement>(null);
  const latestRequest = useRef(0);
  const ids = useId();

  /**
   * Runs a message that answers the next task and shows it; only the latest request's answer counts.
   * A submission or skip blocks the keys until it is answered; a re-read after a state change does not.
   */
  const show = useCallback(async (forGate: string, action: () => Promise<NextTask>, blocking = true) => {
    const request = ++latestRequest.current;
    if (blocking) setPending(true);
    setError(null);
    setHint(null);
    try {
      const next = await action();
      if (request === latestRequest.current) setShown({ gate: forGate, next });
      setRevision((n) => n + 1);
    } catch (cause) {
      const body = toErrorBody(cause);
      logger.warn(`A labeling action failed: ${body.message}`, cause);
      if (request !== latestRequest.current) return;
      setError(body.message);
      // Whatever went wrong, show what the queue holds now.
      try {
        const next = await sendMessage('getNextTask', {});
        if (request === latestRequest.current) setShown({ gate: forGate, next });
      } catch (again) {
        logger.warn('Could not read the next labeling task.', again);
      }
    } finally {
      if (request === latestRequest.current) setPending(false);
    }
  }, []);

  useEffect(() => {
    void show(gate, () => sendMessage('getNextTask', {}), false);
  }, [gate, show]);

  const task = shown?.next.task ?? null;
  // Without a task, an answer from before the last change of consent, pause or connection is stale.
  const loading = shown === null || (task === null && shown.gate !== gate);
  const draft =
    task === null
      ? null
      : draftState?.assignmentId === task.assignmentId
        ? draftState.draft
        : emptyDraft(task.labelSchema);
  const answer = draft === null ? null : answerOf(draft);
  const text = task?.content.type === 'text' ? task.content.text : '';

  const setDraft = (next: Draft) => {
    if (task) setDraftState({ assignmentId: task.assignmentId, draft: next });
  };

  // Choosing is allowed while a refresh is in flight: the draft belongs to this task's assignment,
  // so a key press is never lost to a background re-read (only submitting and skipping wait).
  const choose = (n: number) => {
    if (!task || !draft) return;
    const options = optionsOf(task.labelSchema);
    const option = options[n - 1];
    if (option === undefined) return;
    setHint(null);
    if (task.labelSchema.type !== 'spans') {
      setDraft(chooseOption(draft, task.labelSchema, n));
      return;
    }
    const selected = textRef.current ? selectedOffsets(textRef.current, text) : null;
    if (!selected) {
      setHint(`Select some of the text first, then press ${n} to mark it as “${option}”.`);
      return;
    }
    setDraft(addSpan(draft, { ...selected, label: option }));
    window.getSelection()?.removeAllRanges();
  };

  const submit = () => {
    if (!task || pending) return;
    if (!answer) {
      setHint('Choose an answer first; then Enter submits it.');
      return;
    }
    const { assignmentId } = task;
    void show(gate, () => sendMessage('submitLabel', { assignmentId, answer }));
  };

  const skip = () => {
    if (!task || pending) return;
    const { assignmentId } = task;
    void show(gate, () => sendMessage('skipTask', { assignmentId }));
  };

  const undo = () => {
    if (pending) return;
    void show(gate, () => sendMessage('undoLabel', {}));
  };
  const undoableUntil = recent?.undoableUntil ?? null;
  const undoSeconds = undoableUntil === null ? 0 : Math.max(0, Math.ceil((undoableUntil - now) / 1000));
  // The popup offers undo only while it can work; the page always, so it can say why not.
  const showUndo = full ? (recent?.labels.length ?? 0) > 0 : undoableUntil !== null;

  useLabelKeys({
    onNumber: choose,
    onSubmit: submit,
    onSkip: skip,
    onToggleHelp: () => setHelpOpen((open) => !open),
    onToggleInstructions: () => {
      if (task) setInstructionsOpen((open) => !open);
    },
    onEscape: () => {
      setHelpOpen(false);
      setInstructionsOpen(false);
    },
  });

  const keysId = `${ids}-keys`;
  const instructionsId = `${ids}-instructions`;
  return (
    <section
      aria-labelledby={`${ids}-heading`}
      data-testid="labeling-panel"
      className="space-y-3 rounded-lg border border-slate-200 p-3"
    >
      <header className="flex items-center justify-between gap-2">
        <h2 id={`${ids}-heading`} className="text-base font-semibold">
          Labeling
        </h2>
        <div className="flex gap-1.5">
          {task && (
            <button
              type="button"
              data-testid="show-instructions"
              aria-expanded={instructionsOpen}
              aria-controls={instructionsId}
              aria-keyshortcuts="I"
              onMouseDown={keepFocus}
              onClick={() => setInstructionsOpen((open) => !open)}
              className={secondaryButton}
            >
              Instructions
            </button>
          )}
          <button
            type="button"
            data-testid="show-keys"
            aria-expanded={helpOpen}
            aria-controls={keysId}
            aria-keyshortcuts="?"
            onMouseDown={keepFocus}
            onClick={() => setHelpOpen((open) => !open)}
            className={secondaryButton}
          >
            Keys <kbd className="font-mono text-xs">?</kbd>
          </button>
        </div>
      </header>

      {full && (
        <LabelingProjectPicker
          // Also when a label's verdict arrives: the counts change once it reached the server.
          revision={`${revision}|${recent?.labels.map((label) => label.state).join(',') ?? ''}`}
          disabled={pending}
          onChoose={(projectId) => show(gate, () => sendMessage('chooseProject', { projectId }))}
        />
      )}

      {helpOpen && <KeysHelp id={keysId} schema={task?.labelSchema ?? null} />}

      {task && instructionsOpen && (
        <div
          id={instructionsId}
          data-testid="instructions"
          className={`${full ? 'max-h-[40vh]' : 'max-h-48'} overflow-auto rounded-md border border-sky-200 bg-sky-50 p-3 text-sm`}
        >
          <h3 className="mb-1 font-medium">{task.projectName}</h3>
          <p className="whitespace-pre-wrap break-words">{task.instructions}</p>
          <LabelingExamples examples={task.examples ?? []} />
        </div>
      )}

      {loading ? (
        <p className="text-sm text-slate-500">Loading the next task…</p>
      ) : task && draft ? (
        <div data-testid="label-task" data-assignment-id={task.assignmentId} className="space-y-3">
          <p className="truncate text-xs text-slate-500">
            {task.projectName}
            {shown && shown.next.queued > 0 && ` · ${shown.next.queued} more queued`}
          </p>
          <TaskContent task={task} spans={draft.type === 'spans' ? draft.spans : []} textRef={textRef} />
          <AnswerControls
            schema={task.labelSchema}
            draft={draft}
            text={text}
            disabled={pending}
            onOption={choose}
            onRemoveSpan={(index) => setDraft(removeSpan(draft, index))}
            onNothingToMark={() => setDraft(toggleNothingToMark(draft))}
          />
          <div className="flex gap-2">
            <button
              type="button"
              data-testid="submit-label"
              aria-keyshortcuts="Enter"
              disabled={pending || answer === null}
              onClick={submit}
              className={`flex-1 rounded-md bg-sky-700 px-3 py-2 text-sm font-medium text-white hover:bg-sky-800 disabled:opacity-50 ${focusRing}`}
            >
              Submit <kbd className="font-mono text-xs">Enter</kbd>
            </button>
            <button
              type="button"
              data-testid="skip-task"
              aria-keyshortcuts="S"
              disabled={pending}
              onClick={skip}
              className={`rounded-md border border-slate-300 px-3 py-2 text-sm hover:bg-slate-100 disabled:opacity-60 ${focusRing}`}
            >
              Skip <kbd className="font-mono text-xs">S</kbd>
            </button>
          </div>
        </div>
      ) : (
        <div data-testid="no-tasks" className="space-y-2 rounded-md bg-slate-50 p-3 text-sm text-slate-700">
          <p>{noTaskText(shown?.next.noTaskReason ?? 'none', settings)}</p>
          <button
            type="button"
            data-testid="check-tasks"
            disabled={pending}
            onClick={() => void show(gate, () => sendMessage('getNextTask', {}))}
            className={secondaryButton}
          >
            Check again
          </button>
        </div>
      )}

      {showUndo && (
        <div className="flex items-center gap-2 text-xs text-slate-600">
          <button
            type="button"
            data-testid="undo-label"
            disabled={pending}
            onMouseDown={keepFocus}
            onClick={undo}
            className={secondaryButton}
          >
            Undo last label
          </button>
          {undoableUntil !== null && (
            <span data-testid="undo-window">
              {undoSeconds > 0 ? `Sent in ${undoSeconds} s unless you undo it.` : 'Sending…'}
            </span>
          )}
        </div>
      )}

      <p aria-live="polite" className="text-xs text-slate-600 empty:hidden">
        {hint}
      </p>
      <ErrorText error={error} />
      <LabelerStanding standing={settings.labelerStanding} rejections={settings.labelRejections} />
      {full && <LabelingRecent />}
    </section>
  );
}
