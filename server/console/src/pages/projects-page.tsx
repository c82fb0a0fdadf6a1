import { Link } from '@tanstack/react-router';
import { ProgressBar } from '@ui/progress-bar';
import { Cell } from '@ui/table';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { CursorList } from '../layout/cursor-list';
import { formatDateTime, formatShare } from '../layout/format';
import { PageHeader } from '../layout/page-header';
import { WorkStateBadge } from '../layout/work-state';

/** The buyer's labeling projects, newest first. */
export function ProjectsPage() {
  return (
    <>
      <PageHeader title="Projects">
        <Link to="/projects/new" className="rounded-md bg-stone-900 px-3 py-1.5 text-sm font-medium text-white">
          New project
        </Link>
      </PageHeader>
      <CursorList
        noun="projects"
        listKey={queryKeys.projectList}
        fetchPage={buyerApi.projects}
        rowsOf={(reply) => reply.projects}
        pollEvery={(projects) => (projects.some((p) => p.state === 'active') ? 5000 : false)}
        empty="No labeling projects yet."
        caption="Projects, newest first"
        columns={['Name', 'State', 'Items labeled', 'Agreement', 'Created']}
        row={(project) => (
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
        )}
      />
    </>
  );
}
