import { Cell, Table } from '@ui/table';
import type { ItemRefusal } from './project-upload';

/** Items the API refused, with the file line each came from and the API's reason. */
export function RefusalTable({ refused }: { refused: ItemRefusal[] }) {
  if (refused.length === 0) return null;
  return (
    <Table caption="Items the server refused, with why" columns={['File', 'Line', 'Item id', 'Why']}>
      {refused.map((refusal) => (
        <tr key={`${refusal.file}:${refusal.line}:${refusal.reason}`}>
          <Cell>{refusal.file}</Cell>
          <Cell>{refusal.line}</Cell>
          <Cell>{refusal.id ?? '—'}</Cell>
          <Cell>{refusal.reason}</Cell>
        </tr>
      ))}
    </Table>
  );
}
