import { Page } from '../components/Page.tsx';
import { EmptyState } from '../components/States.tsx';
import { Link, useLocation } from '../router.tsx';

export function NotFoundPage() {
  const { pathname } = useLocation();
  return (
    <Page title="Page not found">
      <div className="card">
        <EmptyState icon="compass" title="Nothing here" action={<Link to="/" className="btn btn-primary">Go to Generate</Link>}>
          <p>
            There is no page at <code>{pathname}</code>. Try the navigation, or the <a href="/docs">API reference</a>.
          </p>
        </EmptyState>
      </div>
    </Page>
  );
}
