import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { ProgressBar } from '@ui/progress-bar';
import { Cell, Table } from '@ui/table';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { useApi } from '../auth/api-key-context';
import { useCursorPages } from '../layout/cursor-pages';
import { formatDateTime, formatShare } from '../layout/format';
import { PageHeader } from '../layout/page-header';
import { QueryError } from '../layout/query-error';
import { WorkStateBadge } from '../layout/work-state';

/** The buyer's labeling projects, newest first. */
export function ProjectsPage() {
  const api = useApi();
  const pages = useCursorPages();
  const list = useQuery({
    queryKey: queryKeys.projectList(pages.cursor),
    queryFn: () => buyerApi.projects(api, pages.cursor),
    refetchInterval: (query) => (query.state.data?.projects.some((p) => p.state === 'active') ? 5000 : false),
  });
  return (
    <>
      <PageHeader title="Projects">
        <Link to="/projects/new" className="rounded-md bg-stone-900 px-3 py-1.5 text-sm font-medium text-white">
          New project
        </Link>
      </PageHeader>
      <QueryError error={list.error} />
      {list.isPending && <p>Loading projects…</p>}
      {list.data && list.data.projects.length === 0 && !pages.hasNewer && (
        <p className="text-stone-600">No labeling projects yet.</p>
      )}
      {list.data && list.data.projects.length > 0 && (
        <Table caption="Projects, newest first" columns={['Name', 'State', 'Items labeled', 'Agreement', 'Created']}>
          {list.data.projects.map((project) => (
            <tr key={project.id}>
              <Cell>
                <Link to="/projects/$projectId" params={{ projectId: project.id }} className="underline">
                  {project.name}
                </Link>
              </Cell>
              <Cell>
                <WorkStateBadge state={project.state} />
              </Cell>
              <Cell className="w-64">
                <ProgressBar
                  label={`Items labeled in ${project.name}`}
                  value={project.progress.itemsComplete}
                  max={project.progress.items}
                />
              </Cell>
              <Cell>{formatShare(project.progress.agreement)}</Cell>
              <Cell>{formatDateTime(project.createdAt)}</Cell>
            </tr>
          ))}
        </Table>
      )}
      <div className="mt-4 flex gap-2">
        <Button variant="secondary" disabled={!pages.hasNewer} onClick={pages.newer}>
          Newer
        </Button>
        <Button
          variant="secondary"
          disabled={!list.data?.next}
          onClick={() => list.data?.next && pages.older(list.data.next)}
        >
          Older
        </Button>
      </div>
    </>
  );
}
