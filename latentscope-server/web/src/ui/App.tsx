import { useEffect, useState } from 'preact/hooks';
import { navigate, parsePage, parseRoute } from '../route';
import { Home } from './Home';
import { Explore } from './Explore';
import { Setup } from './Setup';
import { JobsPage } from './Jobs';
import { SettingsPage } from './Settings';

/** A click on a link to another page of the app (not the map) changes the page without a reload. */
function onLinkClick(e: MouseEvent) {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  if (parseRoute(url.pathname) || parseRoute(location.pathname)) return;
  e.preventDefault();
  navigate(url.href);
}

export function App() {
  const [loc, setLoc] = useState(location.pathname + location.search);
  useEffect(() => {
    const on = () => setLoc(location.pathname + location.search);
    addEventListener('popstate', on);
    document.addEventListener('click', onLinkClick);
    return () => {
      removeEventListener('popstate', on);
      document.removeEventListener('click', onLinkClick);
    };
  }, []);
  const u = new URL(loc, location.origin);
  const p = parsePage(u.pathname, u.search);
  switch (p.kind) {
    case 'explore':
      return <Explore ds={p.ds} initialScope={p.scope} />;
    case 'setup':
      return <Setup key={p.ds} ds={p.ds} step={p.step} />;
    case 'jobs':
      return <JobsPage key={p.ds ?? ''} ds={p.ds} />;
    case 'settings':
      return <SettingsPage />;
    default:
      return <Home />;
  }
}
