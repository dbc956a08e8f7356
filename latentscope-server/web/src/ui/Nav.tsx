// The top bar of the home, setup, jobs and settings pages: the pages, the
// dataset, whether the server writes. Pages that change something are
// linked only when it does.
import type { ComponentChildren } from 'preact';
import { versionInfo } from '../store';
import { jobsPath, setupPath } from '../route';
import { Logo } from './Logo';

export type NavKey = 'home' | 'setup' | 'jobs' | 'settings';

export function PageBar({ active, ds, children }: { active: NavKey; ds?: string | null; children?: ComponentChildren }) {
  const v = versionInfo.value;
  const writes = v !== null && !v.read_only;
  const link = (key: NavKey, href: string, text: string, write: boolean) =>
    (!write || writes) && (
      <a class={`nav-link${active === key ? ' on' : ''}`} href={href} data-nav={key} {...(write ? { 'data-write': `nav-${key}` } : {})}>
        {text}
      </a>
    );
  return (
    <header class="topbar">
      <a class="brand" href="/" title="All datasets">
        <Logo /> latentscope
      </a>
      {ds && (
        <span class="crumb" title="Dataset">
          {ds}
        </span>
      )}
      <nav class="nav">
        {link('home', '/', 'Datasets', false)}
        {ds && link('setup', setupPath(ds), 'Setup', true)}
        {link('jobs', jobsPath(ds), ds ? 'Jobs' : 'Jobs', true)}
        {link('settings', '/settings', 'Settings', true)}
      </nav>
      {children}
      <span class="spacer" />
      {v?.read_only && (
        <span class="badge" data-testid="read-only" title="This server shows data but changes nothing">
          read-only
        </span>
      )}
      {v && <span class="muted small">v{v.version}</span>}
    </header>
  );
}

/** What a read-only server shows instead of a page that changes things. */
export function ReadOnlyNote({ what }: { what: string }) {
  return (
    <div class="page-note" data-testid="read-only-note">
      <p>
        This server is read-only: {what} is not available here. Start <code>latentscope serve</code> without{' '}
        <code>--read-only</code> to use it.
      </p>
      <p>
        <a href="/">← All datasets</a>
      </p>
    </div>
  );
}
