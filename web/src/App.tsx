/** The app shell: skip link, navigation (a sidebar; a top bar on narrow screens), the routed page. */
import type { ReactNode } from 'react';
import { BrandMark, Icon, type IconName } from './components/Icon.tsx';
import { SignIn, SignOut } from './components/SignIn.tsx';
import { useLiveStatus } from './hooks/useLiveStatus.ts';
import { DatasetPage } from './pages/DatasetPage.tsx';
import { DatasetsPage } from './pages/DatasetsPage.tsx';
import { DeploymentPage } from './pages/DeploymentPage.tsx';
import { DeploymentsPage } from './pages/DeploymentsPage.tsx';
import { DrawPage } from './pages/DrawPage.tsx';
import { EvalReportsPage } from './pages/EvalReportsPage.tsx';
import { GeneratePage } from './pages/GeneratePage.tsx';
import { ModelPage } from './pages/ModelPage.tsx';
import { ModelsPage } from './pages/ModelsPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { TaskDetailPage } from './pages/TaskDetailPage.tsx';
import { TasksPage } from './pages/TasksPage.tsx';
import { Link, match, useLocation } from './router.tsx';

interface NavItem {
  to: string;
  label: string;
  icon: IconName;
  /** Paths under this prefix highlight the item. */
  section: string;
}

const NAV: { group: string; items: NavItem[] }[] = [
  { group: 'Create', items: [{ to: '/', label: 'Generate', icon: 'sparkles', section: '/' }] },
  {
    group: 'Platform',
    items: [
      { to: '/tasks', label: 'Tasks', icon: 'list', section: '/tasks' },
      { to: '/datasets', label: 'Datasets', icon: 'database', section: '/datasets' },
      { to: '/models', label: 'Models', icon: 'cube', section: '/models' },
    ],
  },
  {
    group: 'Serving',
    items: [
      { to: '/deployments', label: 'Deployments', icon: 'plug', section: '/deployments' },
      { to: '/draw', label: 'Draw', icon: 'pen', section: '/draw' },
      { to: '/eval', label: 'Eval reports', icon: 'book', section: '/eval' },
    ],
  },
];

function route(pathname: string): ReactNode {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  let p: Record<string, string> | null;
  if (path === '/' || path === '/generate') return <GeneratePage />;
  if (path === '/tasks') return <TasksPage />;
  if ((p = match('/tasks/:id', path))) return <TaskDetailPage key={p.id} id={p.id!} />;
  if (path === '/datasets') return <DatasetsPage />;
  if ((p = match('/datasets/:id', path))) return <DatasetPage key={p.id} id={p.id!} />;
  if (path === '/models') return <ModelsPage />;
  if ((p = match('/models/:id', path))) return <ModelPage key={p.id} id={p.id!} />;
  if (path === '/deployments') return <DeploymentsPage />;
  if ((p = match('/deployments/:name', path))) return <DeploymentPage key={p.name} name={p.name!} />;
  if (path === '/draw') return <DrawPage />;
  if (path === '/eval') return <EvalReportsPage />;
  if ((p = match('/eval/:id', path))) return <EvalReportsPage key={p.id} id={p.id} />;
  return <NotFoundPage />;
}

function LiveIndicator() {
  const status = useLiveStatus();
  // Nothing on screen streams (no socket open): nothing to say.
  if (status === 'idle') return null;
  const text = status === 'open' ? 'Live' : status === 'connecting' ? 'Connecting…' : status === 'closed' ? 'Reconnecting…' : 'Idle';
  return (
    <span className="live" data-state={status} title={`Live updates: ${text}`}>
      <span className="live-dot" aria-hidden="true" />
      <span className="live-text">{text}</span>
      <span className="visually-hidden">live updates {text}</span>
    </span>
  );
}

export function App() {
  const { pathname } = useLocation();
  const current = (section: string) => (section === '/' ? pathname === '/' || pathname === '/generate' : pathname === section || pathname.startsWith(`${section}/`));
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <Link to="/" className="brand" aria-label="Lakeray home">
          <BrandMark />
          <span className="brand-name">Lakeray</span>
        </Link>
        <nav className="nav" aria-label="Main">
          {NAV.map((g) => (
            <div key={g.group} style={{ display: 'contents' }}>
              <div className="nav-label">{g.group}</div>
              {g.items.map((item) => (
                <Link key={item.to} to={item.to} aria-current={current(item.section) ? 'page' : undefined}>
                  <Icon name={item.icon} />
                  {item.label}
                </Link>
              ))}
            </div>
          ))}
        </nav>
        <div className="sidebar-foot">
          <LiveIndicator />
          <div className="foot-links stack-sm" style={{ gap: 'var(--s-1)' }}>
            <a href="/docs">API reference</a>
            <a href="/metrics">Metrics</a>
            <SignOut />
          </div>
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1}>
        {route(pathname)}
      </main>
      <SignIn />
    </div>
  );
}
