/** The frame of every page: breadcrumbs, a title that takes focus on navigation, actions. */
import { type ReactNode, useEffect, useId, useRef } from 'react';
import { useTitle } from '../hooks/useTitle.ts';
import { Link } from '../router.tsx';

let firstPage = true;

export function Page({
  title,
  subtitle,
  crumbs,
  actions,
  children,
  docTitle,
}: {
  title: ReactNode;
  subtitle?: ReactNode;
  crumbs?: { to: string; label: string }[];
  actions?: ReactNode;
  children: ReactNode;
  docTitle?: string;
}) {
  const h1 = useRef<HTMLHeadingElement>(null);
  useTitle(docTitle ?? (typeof title === 'string' ? title : ''));
  // After a client-side navigation, move focus to the new page's heading so screen readers
  // announce it and keyboard users start at the top (not on the first load: keep the skip link).
  useEffect(() => {
    if (firstPage) {
      firstPage = false;
      return;
    }
    h1.current?.focus({ preventScroll: true });
    window.scrollTo({ top: 0 });
  }, []);
  return (
    <div className="page">
      <header className="page-header">
        <div>
          {crumbs && crumbs.length > 0 && (
            <nav className="breadcrumbs" aria-label="Breadcrumb">
              {crumbs.map((c) => (
                <span key={c.to}>
                  <Link to={c.to}>{c.label}</Link> <span aria-hidden="true">/</span>
                </span>
              ))}
            </nav>
          )}
          <h1 ref={h1} tabIndex={-1}>
            {title}
          </h1>
          {subtitle && <div className="subtitle">{subtitle}</div>}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </header>
      {children}
    </div>
  );
}

export function Card({ title, hint, actions, children, bodyless, id }: { title?: ReactNode; hint?: ReactNode; actions?: ReactNode; children: ReactNode; bodyless?: boolean; id?: string }) {
  const autoId = useId();
  const headingId = title ? `${id ?? autoId}-title` : undefined;
  return (
    <section className="card" aria-labelledby={headingId} id={id}>
      {(title || actions) && (
        <div className="card-header">
          <div>
            {title && <h2 id={headingId}>{title}</h2>}
            {hint && <div className="hint">{hint}</div>}
          </div>
          {actions && <div className="row">{actions}</div>}
        </div>
      )}
      {bodyless ? children : <div className="card-body">{children}</div>}
    </section>
  );
}
