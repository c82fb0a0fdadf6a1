import { useQuery } from '@tanstack/react-query';
import { Link, Outlet } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { buyerApi } from '../api/buyer-api';
import { queryKeys } from '../api/query-keys';
import { useApiKey } from '../auth/api-key-context';
import { SignInPage } from '../pages/sign-in-page';

const navClass = 'rounded px-2 py-1 text-stone-700 hover:bg-stone-200';
const activeNav = { className: 'rounded px-2 py-1 bg-stone-900 text-white' };

/** The frame of every page: navigation, who is signed in, and sign out. */
export function ConsoleLayout() {
  const { apiKey, api, signOut } = useApiKey();
  const me = useQuery({ queryKey: queryKeys.me, queryFn: () => buyerApi.me(api), enabled: apiKey !== null });
  return (
    <div className="min-h-screen">
      <header className="border-b border-stone-200 bg-white">
        <nav aria-label="Main" className="mx-auto flex max-w-5xl flex-wrap items-center gap-2 px-6 py-3 text-sm">
          <Link to="/" className="mr-4 font-semibold" activeOptions={{ exact: true }}>
            Gleaner console
          </Link>
          <Link to="/rewards" className={navClass} activeProps={activeNav}>
            Rewards
          </Link>
          <Link to="/campaigns" className={navClass} activeProps={activeNav}>
            Campaigns
          </Link>
          <Link to="/projects" className={navClass} activeProps={activeNav}>
            Projects
          </Link>
          <Link to="/datasets" className={navClass} activeProps={activeNav}>
            Datasets
          </Link>
          <span className="ml-auto flex items-center gap-3">
            {apiKey !== null && (
              <>
                <span data-testid="signed-in-as" className="text-stone-600">
                  {me.data ? me.data.name : ''}
                </span>
                <Button variant="secondary" onClick={signOut}>
                  Sign out
                </Button>
              </>
            )}
          </span>
        </nav>
      </header>
      <main className="mx-auto max-w-5xl px-6 py-8">
        <Outlet />
      </main>
    </div>
  );
}

/** Buyer pages: the sign-in form in their place until a key is kept, then the page itself. */
export function BuyerOnly() {
  const { apiKey } = useApiKey();
  return apiKey === null ? <SignInPage /> : <Outlet />;
}
