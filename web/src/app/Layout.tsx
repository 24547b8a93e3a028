// The frame around every page: navigation, search, theme switch and the user menu, plus the
// global keyboard shortcuts (`/` search, `g q` queries, `g d` data sources, `n` new query).
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { NavLink, useNavigate } from 'react-router';
import { applyTheme, nextTheme, storedTheme, type ThemeChoice } from '../lib/theme';
import type { Session } from '../features/auth/api';

function isTyping(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return Boolean(element && (element.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName)));
}

export function Layout({ session, children }: { session: Session; children: ReactNode }): React.JSX.Element {
  const navigate = useNavigate();
  const [theme, setTheme] = useState<ThemeChoice>(storedTheme);
  const search = useRef<HTMLInputElement>(null);
  const isAdmin = session.user.permissions.includes('admin');

  useEffect(() => {
    let pendingG = false;
    const onKey = (event: KeyboardEvent) => {
      if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === '/') {
        event.preventDefault();
        search.current?.focus();
      } else if (pendingG && event.key === 'q') navigate('/queries');
      else if (pendingG && event.key === 'd' && isAdmin) navigate('/data_sources');
      else if (event.key === 'n') navigate('/queries/new');
      pendingG = event.key === 'g';
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [navigate, isAdmin]);

  function switchTheme(): void {
    const next = nextTheme(theme);
    applyTheme(next);
    setTheme(next);
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand">
          Dashi
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/queries">Queries</NavLink>
          {isAdmin && <NavLink to="/data_sources">Data sources</NavLink>}
        </nav>
        <form
          role="search"
          className="global-search"
          onSubmit={(event) => {
            event.preventDefault();
            navigate(`/queries?q=${encodeURIComponent(search.current?.value ?? '')}`);
          }}
        >
          <input ref={search} type="search" aria-label="Search queries" placeholder="Search queries (press /)" />
        </form>
        <span className="spacer" />
        <button type="button" className="ghost" onClick={switchTheme} aria-label={`Theme: ${theme}. Switch theme`} title="Switch theme">
          {theme === 'dark' ? '☾ Dark' : theme === 'light' ? '☀ Light' : '◐ System'}
        </button>
        <span className="user" title={session.user.email}>
          {session.user.name}
        </span>
        <a className="ghost button" href="/logout">
          Log out
        </a>
      </header>
      <div id="content" tabIndex={-1}>
        {children}
      </div>
    </div>
  );
}
