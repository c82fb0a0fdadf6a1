import type { ErrorCode } from '@protocol/errors';
import type { RecordVerdictCode } from '@protocol/results';

/** What each record verdict code of the server means, in words for the person whose work it was. */
export const verdictMeanings: Record<RecordVerdictCode, string> = {
  invalid_record: 'The result was not in the form the server expects.',
  out_of_range: 'A number in the result was outside what the server allows.',
  invalid_text: 'Its text held a character the server does not accept (a NUL or a broken character).',
  hash_mismatch: 'Its text did not match the fingerprint (SHA-256) sent with it.',
  foreign_assignment: 'The server had not leased this task to this device, or the lease no longer exists.',
  wrong_job: 'The result named another job than the one leased.',
  url_mismatch: 'The page’s address was not the address of its job.',
  final_url_blocked: 'The page ended, after its redirects, at an address that may not be fetched.',
  outside_lease: 'It arrived outside the time its lease allowed (too late, or this computer’s clock is off).',
  already_received: 'The server had already received this result.',
  job_complete: 'The job already had every copy it needed: the page is kept but earns nothing.',
  batch_id_taken: 'Its upload batch was named like one another device had sent.',
  invalid_label: 'The label did not fit its task.',
};

/**
 * Why the server refused a record, for the person: the meaning of its code, then the server's own
 * reason. Either may be missing (an older server sends no code).
 */
export function describeVerdict(code: RecordVerdictCode | undefined, reason: string | undefined): string {
  const meaning = code === undefined ? undefined : verdictMeanings[code];
  const said = reason?.trim();
  if (meaning && said) return `${meaning} The server said: ${said}`;
  return meaning ?? said ?? 'The server did not say why.';
}

/** Why a record went to the dead letters with the whole batch it was in, for the person. */
export function describeDeadLetter(message: string): string {
  return `The server refused the whole upload this was in, so it was set aside: ${message}`;
}

/** What the server's refusal of a whole batch means, for the person (the codes that set a batch aside). */
export function describeBatchRefusal(code: ErrorCode): string {
  switch (code) {
    case 'payload_too_large':
      return 'Too large for the server to accept, even on its own.';
    case 'bad_request':
      return 'The server could not read the upload.';
    case 'server_rejected':
      return 'The server’s answer could not be read as a receipt for the upload.';
    default:
      return 'The server refused the upload.';
  }
}
