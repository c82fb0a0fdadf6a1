import {
  createHashHistory,
  createRootRoute,
  createRoute,
  createRouter,
  type RouterHistory,
} from '@tanstack/react-router';
import { BuyerOnly, ConsoleLayout } from './layout/console-layout';
import { CampaignPage } from './pages/campaign-page';
import { CampaignsPage } from './pages/campaigns-page';
import { DatasetPage } from './pages/dataset-page';
import { DatasetsPage } from './pages/datasets-page';
import { NewCampaignPage } from './pages/new-campaign-page';
import { NewDatasetPage } from './pages/new-dataset-page';
import { NewProjectPage } from './pages/new-project-page';
import { ProjectPage } from './pages/project-page';
import { ProjectsPage } from './pages/projects-page';
import { SignInPage } from './pages/sign-in-page';
import { StatusPage } from './pages/status-page';
import { LinkDevicePage, readLinkDeviceSearch } from './wallet/link-device-page';
import { RewardChainFrame } from './wallet/reward-chain';
import { RewardsPage } from './wallet/rewards-page';

const rootRoute = createRootRoute({ component: ConsoleLayout });
const statusRoute = createRoute({ getParentRoute: () => rootRoute, path: '/', component: StatusPage });
const signInRoute = createRoute({ getParentRoute: () => rootRoute, path: '/sign-in', component: () => <SignInPage /> });
// Contributor pages: under one frame that reads the server's chain and gives wagmi its config.
const rewardsFrameRoute = createRoute({ getParentRoute: () => rootRoute, id: 'rewards', component: RewardChainFrame });
const rewardsRoute = createRoute({ getParentRoute: () => rewardsFrameRoute, path: '/rewards', component: RewardsPage });
const linkDeviceRoute = createRoute({
  getParentRoute: () => rewardsFrameRoute,
  path: '/rewards/link',
  validateSearch: readLinkDeviceSearch,
  component: function LinkDeviceRoute() {
    return <LinkDevicePage search={linkDeviceRoute.useSearch()} />;
  },
});
const buyerRoute = createRoute({ getParentRoute: () => rootRoute, id: 'buyer', component: BuyerOnly });

const campaignsRoute = createRoute({ getParentRoute: () => buyerRoute, path: '/campaigns', component: CampaignsPage });
const newCampaignRoute = createRoute({
  getParentRoute: () => buyerRoute,
  path: '/campaigns/new',
  component: NewCampaignPage,
});
const campaignRoute = createRoute({
  getParentRoute: () => buyerRoute,
  path: '/campaigns/$campaignId',
  component: function CampaignRoute() {
    return <CampaignPage campaignId={campaignRoute.useParams().campaignId} />;
  },
});

const projectsRoute = createRoute({ getParentRoute: () => buyerRoute, path: '/projects', component: ProjectsPage });
const newProjectRoute = createRoute({
  getParentRoute: () => buyerRoute,
  path: '/projects/new',
  component: NewProjectPage,
});
const projectRoute = createRoute({
  getParentRoute: () => buyerRoute,
  path: '/projects/$projectId',
  component: function ProjectRoute() {
    return <ProjectPage projectId={projectRoute.useParams().projectId} />;
  },
});

const datasetsRoute = createRoute({ getParentRoute: () => buyerRoute, path: '/datasets', component: DatasetsPage });
const newDatasetRoute = createRoute({
  getParentRoute: () => buyerRoute,
  path: '/datasets/new',
  component: NewDatasetPage,
});
const datasetRoute = createRoute({
  getParentRoute: () => buyerRoute,
  path: '/datasets/$datasetId',
  component: function DatasetRoute() {
    return <DatasetPage datasetId={datasetRoute.useParams().datasetId} />;
  },
});

export const routeTree = rootRoute.addChildren([
  statusRoute,
  signInRoute,
  rewardsFrameRoute.addChildren([rewardsRoute, linkDeviceRoute]),
  buyerRoute.addChildren([
    campaignsRoute,
    newCampaignRoute,
    campaignRoute,
    projectsRoute,
    newProjectRoute,
    projectRoute,
    datasetsRoute,
    newDatasetRoute,
    datasetRoute,
  ]),
]);

/**
 * Code-based routes under hash history (`/#/campaigns/…`): the server serves only `/` and the built
 * files, so every console path must load the same index.html; a hash keeps the path on the client.
 * Tests pass a memory history.
 */
export function createConsoleRouter(history: RouterHistory = createHashHistory()) {
  return createRouter({ routeTree, history, defaultPreload: false });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createConsoleRouter>;
  }
}
