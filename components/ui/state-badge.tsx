import { Badge, type BadgeTone } from './badge';

/** How each state of one kind reads: its tone and the exact words e2e tests look for. */
export type StateLooks<State extends string> = Record<State, { tone: BadgeTone; words: string }>;

/** A state as a badge, looked up in its kind's table so a new state cannot miss its tone or its words. */
export function StateBadge<State extends string>({
  state,
  looks,
  testId,
}: {
  state: State;
  looks: StateLooks<State>;
  testId: string;
}) {
  const { tone, words } = looks[state];
  return (
    <Badge tone={tone} testId={testId}>
      {words}
    </Badge>
  );
}
