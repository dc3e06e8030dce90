/**
 * The console shell: loads the session, shows the log-in form when the console asks for one, else the
 * navigation and the page the path names. A skip link leads keyboard users past the navigation.
 */
import { useEffect, useState } from 'preact/hooks';
import { setUnauthorizedHandler } from './api/client.ts';
import { loadSession, logOut } from './api/session.ts';
import type { Session } from './api/types.ts';
import { ErrorBox } from './components/error-box.tsx';
import { Nav } from './components/nav.tsx';
import { ExperimentsPage } from './pages/experiments.tsx';
import { KeyPage } from './pages/key.tsx';
import { KeysPage } from './pages/keys.tsx';
import { LoginPage } from './pages/login.tsx';
import { LogsPage } from './pages/logs.tsx';
import { McpServersPage } from './pages/mcp-servers.tsx';
import { RouteConfigPage } from './pages/routeconfig.tsx';
import { RoutingPage } from './pages/routing.tsx';
import { UsagePage } from './pages/usage.tsx';
import { matchRoute, useLocation } from './router.ts';

export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const { pathname, search } = useLocation();
  useEffect(() => {
    loadSession().then(setSession, setError);
    // A session that ended under the page (expired, logged out in another tab) brings the log-in back.
    setUnauthorizedHandler(() => loadSession().then(setSession, setError));
  }, []);
  const route = matchRoute(pathname);

  useEffect(() => {
    document.title = `${TITLES[route.page]} · Agent Router Console`;
  }, [route.page]);

  if (error !== undefined) return <ErrorBox error={error} />;
  if (session === undefined) return <p class="status">Loading…</p>;
  if (session.authRequired && !session.authenticated) return <LoginPage onLoggedIn={setSession} />;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Agent Router Console</span>
        <Nav page={route.page} />
        <span class="mode">
          {session.mode} mode{session.readOnly ? ', read-only' : ''}
        </span>
        {session.authRequired ? (
          <button type="button" onClick={() => logOut().then(() => loadSession().then(setSession), setError)}>
            Log out
          </button>
        ) : null}
      </header>
      <Page route={route} search={search} session={session} />
    </>
  );
}

const TITLES: Record<ReturnType<typeof matchRoute>['page'], string> = {
  logs: 'Request Logs',
  usage: 'Usage Analytics',
  experiments: 'Experiments',
  keys: 'API keys',
  key: 'API key',
  routing: 'Routing',
  routeconfig: 'RouteConfig',
  'mcp-servers': 'MCP servers',
  'not-found': 'Not found',
};

function Page({
  route,
  search,
  session,
}: {
  route: ReturnType<typeof matchRoute>;
  search: string;
  session: Session;
}) {
  switch (route.page) {
    case 'logs':
      return <LogsPage search={search} />;
    case 'usage':
      return <UsagePage search={search} />;
    case 'experiments':
      return <ExperimentsPage key={route.param ?? ''} model={route.param} session={session} />;
    case 'keys':
      return <KeysPage session={session} />;
    case 'key':
      return <KeyPage name={route.param!} session={session} />;
    case 'routing':
      return <RoutingPage />;
    case 'routeconfig':
      return <RouteConfigPage name={route.param!} session={session} />;
    case 'mcp-servers':
      return <McpServersPage />;
    case 'not-found':
      return (
        <main id="main" aria-labelledby="page-title">
          <h1 id="page-title">Not found</h1>
          <p>No console page lives here.</p>
        </main>
      );
  }
}
