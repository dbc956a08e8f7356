// The home page: every dataset with its scopes (thumbnail, rows), and, on a
// server that writes, a new dataset from a file and links to each setup.
import { useEffect, useState } from 'preact/hooks';
import { getJSON, type DatasetListing } from '../api';
import { versionInfo } from '../store';
import { explorePath, jobsPath, setupPath } from '../route';
import { PageBar } from './Nav';
import { Upload } from './Upload';

export { Logo } from './Logo';

const fmt = (n: number | null | undefined) => (n ?? 0).toLocaleString('en-US');

export function Home() {
  const [data, setData] = useState<DatasetListing[] | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    document.title = 'latentscope';
    getJSON<DatasetListing[]>('/api/datasets').then(setData, (e) => setErr(String(e.message ?? e)));
  }, []);
  const v = versionInfo.value;
  const writes = v !== null && !v.read_only;
  return (
    <div class="home page">
      <PageBar active="home" />
      <main class="home-main">
        {writes && <Upload />}
        <h1>Datasets</h1>
        {err && <p class="error">Could not list the datasets: {err}</p>}
        {!data && !err && <p class="muted">Loading…</p>}
        {data && data.length === 0 && (
          <div class="empty">
            {writes ? (
              <p class="muted">No datasets here yet: drop a file above, or make one on the command line:</p>
            ) : (
              <p>No datasets here yet. Make one from a CSV, then reload:</p>
            )}
            <pre>latentscope run my.csv --text-column text</pre>
          </div>
        )}
        {data?.map((d) => (
          <section class="dataset" key={d.id} data-dataset={d.id}>
            <div class="dataset-head">
              <h2>{d.id}</h2>
              {writes && (
                <>
                  <a class="btn" href={setupPath(d.id)} data-write="setup" data-testid="setup-link">
                    Setup
                  </a>
                  <a class="btn" href={jobsPath(d.id)} data-write="jobs" data-testid="jobs-link">
                    Jobs
                  </a>
                </>
              )}
            </div>
            <p class="muted">
              {fmt(d.length)} rows · text column <code>{d.text_column}</code>
              {d.columns?.length ? <> · columns {d.columns.join(', ')}</> : null}
            </p>
            {d.scopes.length === 0 &&
              (writes ? (
                <p class="muted">
                  No scopes yet: <a href={setupPath(d.id)}>continue its setup</a>.
                </p>
              ) : (
                <p class="muted">
                  No scopes yet (run <code>latentscope scope</code>).
                </p>
              ))}
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
