import { useEffect, useState } from 'preact/hooks';
import { getJSON, type DatasetListing } from '../api';
import { versionInfo } from '../store';
import { explorePath } from '../route';

const fmt = (n: number | null | undefined) => (n ?? 0).toLocaleString('en-US');

export function Home() {
  const [data, setData] = useState<DatasetListing[] | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    document.title = 'latentscope';
    getJSON<DatasetListing[]>('/api/datasets').then(setData, (e) => setErr(String(e.message ?? e)));
  }, []);
  const v = versionInfo.value;
  return (
    <div class="home">
      <header class="topbar">
        <a class="brand" href="/">
          <Logo /> latentscope
        </a>
        <span class="spacer" />
        {v?.read_only && <span class="badge" title="This server shows data but changes nothing">read-only</span>}
        {v && <span class="muted small">v{v.version}</span>}
      </header>
      <main class="home-main">
        <h1>Datasets</h1>
        {err && <p class="error">Could not list the datasets: {err}</p>}
        {!data && !err && <p class="muted">Loading…</p>}
        {data && data.length === 0 && (
          <div class="empty">
            <p>No datasets here yet. Make one from a CSV, then reload:</p>
            <pre>latentscope run my.csv --text-column text</pre>
          </div>
        )}
        {data?.map((d) => (
          <section class="dataset" key={d.id} data-dataset={d.id}>
            <h2>{d.id}</h2>
            <p class="muted">
              {fmt(d.length)} rows · text column <code>{d.text_column}</code>
              {d.columns?.length ? <> · columns {d.columns.join(', ')}</> : null}
            </p>
            {d.scopes.length === 0 && <p class="muted">No scopes yet (run <code>latentscope scope</code>).</p>}
            <div class="scope-cards">
              {d.scopes.map((s) => (
                <a class="scope-card" href={s.explore || explorePath(d.id, s.id)} key={s.id} data-scope={s.id}>
                  {s.thumbnail ? <img src={s.thumbnail} alt={`map of ${s.label ?? s.id}`} loading="lazy" /> : <div class="thumb-empty" />}
                  <div class="scope-card-text">
                    <strong>{s.label || s.id}</strong>
                    <span class="muted small">
                      {s.id} · {fmt(s.rows)} rows
                    </span>
                    {s.description && <span class="muted small desc">{s.description}</span>}
                  </div>
                </a>
              ))}
            </div>
          </section>
        ))}
      </main>
    </div>
  );
}

export function Logo() {
  return (
    <svg width="18" height="18" viewBox="0 0 16 16" aria-hidden="true">
      <rect width="16" height="16" rx="3" fill="#223" />
      <circle cx="5" cy="6" r="1.6" fill="#f6a" />
      <circle cx="10" cy="5" r="1.6" fill="#6cf" />
      <circle cx="8" cy="11" r="1.6" fill="#fd5" />
      <circle cx="12" cy="10" r="1.2" fill="#6cf" />
      <circle cx="4" cy="11" r="1.2" fill="#f6a" />
    </svg>
  );
}
