import { useEffect, useState } from 'preact/hooks';
import { navigate, parsePage, parseRoute } from '../route';
import { Home } from './Home';
import { Explore } from './Explore';
import { Setup } from './Setup';
import { JobsPage } from './Jobs';
import { SettingsPage } from './Settings';
import type { CompareWhat } from '../route';
import { SITE, siteInfo } from '../site';
import * as S from '../store';

/** A click on a link to another page of the app (not the map) changes the page without a reload. */
function onLinkClick(e: MouseEvent) {
  if (SITE) return;
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
  if (parseRoute(url.pathname) || parseRoute(location.pathname)) return;
  e.preventDefault();
  navigate(url.href);
}

type CompareModule = typeof import('./Compare');
let compareModule: Promise<CompareModule> | null = null;

/** The compare pages, loaded when first opened (the map's first paint does not wait for them). */
function ComparePage(props: { ds: string; what: CompareWhat; left: string | null; right: string | null }) {
  const [m, setM] = useState<CompareModule | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    if (!compareModule) compareModule = import('./Compare');
    compareModule.then(setM, (e) => {
      compareModule = null;
      setErr(String((e as Error).message ?? e));
    });
  }, []);
  if (err) return <p class="page-note error">The compare page could not load: {err}</p>;
  return m ? <m.ComparePage {...props} /> : <p class="page-note muted">Loading…</p>;
}

/** A static site: the explore page of its scope, once `site.json` has said which. */
function StaticSite() {
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    siteInfo().then(
      (i) => (S.siteInfo.value = i),
      (e) => setErr(String((e as Error).message ?? e)),
    );
  }, []);
  const info = S.siteInfo.value;
  if (err) return <p class="page-note error">This site could not be read: {err}</p>;
  if (!info) return null;
  return <Explore ds={info.dataset} initialScope={info.scope} />;
}

export function App() {
  if (SITE) return <StaticSite />;
  return <Pages />;
}

function Pages() {
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
    case 'compare':
      return <ComparePage key={`${p.ds}/${p.what}`} ds={p.ds} what={p.what} left={p.left} right={p.right} />;
    default:
      return <Home />;
  }
}
