import {
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
  useId,
} from 'react';
import { ErrorText } from './error-text';

const controlClasses =
  'mt-1 block w-full rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm focus:border-sky-500 focus:outline-none focus:ring-1 focus:ring-sky-500 aria-[invalid=true]:border-red-500';

interface FieldFrame {
  label: string;
  /** A line under the control: a default, a format, a limit. */
  hint?: ReactNode;
  /** What is wrong with this field, in words; shown under it and tied to it for screen readers. */
  error?: string | null;
}

/** Label, hint and error around a control, wired together by ids so `getByLabel` and screen readers find them. */
function Frame({ id, label, hint, error, children }: FieldFrame & { id: string; children: ReactNode }) {
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium text-stone-800">
        {label}
      </label>
      {children}
      {hint && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-stone-500">
          {hint}
        </p>
      )}
      <ErrorText error={error} id={`${id}-error`} />
    </div>
  );
}

/** The id and ARIA attributes that tie a control to its frame's label, hint and error. */
function controlWiring(id: string, { hint, error }: Omit<FieldFrame, 'label'>) {
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean);
  return {
    id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': described.length > 0 ? described.join(' ') : undefined,
  };
}

/** A labelled text (or number, password, file…) input. */
export function TextField({ label, hint, error, ...props }: FieldFrame & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <Frame id={id} label={label} hint={hint} error={error}>
      <input {...controlWiring(id, { hint, error })} className={controlClasses} {...props} />
    </Frame>
  );
}

/** A labelled multi-line text area. */
export function TextAreaField({
  label,
  hint,
  error,
  ...props
}: FieldFrame & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId();
  return (
    <Frame id={id} label={label} hint={hint} error={error}>
      <textarea {...controlWiring(id, { hint, error })} className={`${controlClasses} font-mono`} {...props} />
    </Frame>
  );
}

/** A labelled select. */
export function SelectField({
  label,
  hint,
  error,
  children,
  ...props
}: FieldFrame & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <Frame id={id} label={label} hint={hint} error={error}>
      <select {...controlWiring(id, { hint, error })} className={controlClasses} {...props}>
        {children}
      </select>
    </Frame>
  );
}

/** A checkbox with its label beside it, and an optional hint below. */
export function CheckboxField({
  label,
  hint,
  ...props
}: { label: string; hint?: ReactNode } & Omit<InputHTMLAttributes<HTMLInputElement>, 'type'>) {
  const id = useId();
  return (
    <div className="flex items-start gap-2">
      <input id={id} type="checkbox" className="mt-1" aria-describedby={hint ? `${id}-hint` : undefined} {...props} />
      <div>
        <label htmlFor={id} className="text-sm text-stone-800">
          {label}
        </label>
        {hint && (
          <p id={`${id}-hint`} className="text-xs text-stone-500">
            {hint}
          </p>
        )}
      </div>
    </div>
  );
}
