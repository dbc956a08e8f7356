// The jobs page (`/jobs`, `/datasets/{ds}/jobs`): every job with its step,
// parameters, status, duration and log; cancel a running one, rerun one that
// failed or was cancelled.
import { useEffect, useState } from 'preact/hooks';
import { explorePath, jobsPath, setupPath } from '../route';
import { versionInfo } from '../store';
import { fmtMs, jobError, jobLogs, jobMs, jobs, track, unfollowAll } from '../jobs';
import { allJobs, cancelJob, datasetJobs, errText, jobUrl, rerunJob, type Job, type JobEvent } from '../setupApi';
import { PageBar, ReadOnlyNote } from './Nav';
import { ProgressBar, stageText } from './JobLine';

export function JobsPage({ ds }: { ds: string | null }) {
  const v = versionInfo.value;
  useEffect(() => {
    document.title = `Jobs${ds ? ` · ${ds}` : ''} · latentscope`;
  }, [ds]);
  return (
    <div class="page">
      <PageBar active="jobs" ds={ds} />
      {!v ? <p class="page-note muted">Loading…</p> : v.read_only ? <ReadOnlyNote what="running jobs" /> : <JobsBody ds={ds} />}
    </div>
  );
}

type Filter = 'all' | 'running' | 'error' | 'done';

function JobsBody({ ds }: { ds: string | null }) {
  const [ids, setIds] = useState<string[] | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [filter, setFilter] = useState<Filter>('all');
  const [, tick] = useState(0);

  useEffect(() => {
    let stop = false;
    let timer = 0;
    const load = async () => {
      try {
        const list = await (ds ? datasetJobs(ds) : allJobs());
        if (stop) return;
        track(list);
        setIds((old) => {
          const fresh = list.map((j) => j.id);
          // Jobs started from this page (reruns) stay listed until the server lists them.
          const extra = (old ?? []).filter((id) => !fresh.includes(id));
          return [...extra, ...fresh];
        });
        setErr(null);
      } catch (e) {
        if (!stop) setErr(errText(e));
      }
      if (!stop) timer = window.setTimeout(load, 4000);
    };
    load();
    const t = setInterval(() => tick((n) => n + 1), 500);
    return () => {
      stop = true;
      clearTimeout(timer);
      clearInterval(t);
      unfollowAll();
    };
  }, [ds]);

  const all = (ids ?? []).map((id) => jobs.value[id]).filter((j): j is Job => !!j);
  all.sort((a, b) => Number(b.started_at) - Number(a.started_at) || (a.id < b.id ? 1 : -1));
  const shown = all.filter((j) => filter === 'all' || j.status === filter);
  const n = (f: Filter) => all.filter((j) => f === 'all' || j.status === f).length;

  return (
    <main class="page-main jobs" data-testid="jobs">
      <div class="page-head">
        <h1>Jobs{ds ? <> of {ds}</> : null}</h1>
        <div class="seg filter-seg" role="group" aria-label="Show">
          {(['all', 'running', 'error', 'done'] as Filter[]).map((f) => (
            <button key={f} class={filter === f ? 'on' : ''} data-filter={f} onClick={() => setFilter(f)}>
              {f === 'error' ? 'failed' : f} <span class="muted">{n(f)}</span>
            </button>
          ))}
        </div>
        <span class="spacer" />
        {ds ? (
          <>
            <a href={setupPath(ds)}>Setup of {ds} →</a>
            <a href={jobsPath(null)}>All jobs</a>
          </>
        ) : null}
      </div>
      {err && <p class="error">Could not list the jobs: {err}</p>}
      {ids === null && !err && <p class="muted">Loading…</p>}
      {ids !== null && all.length === 0 && (
        <div class="empty">
          <p class="muted">No jobs yet. Start one from a dataset’s setup page{ds ? '' : ' (a dataset’s Setup link on the home page)'}.</p>
        </div>
      )}
      {shown.length > 0 && (
        <table class="jobs-table" data-testid="jobs-table">
          <thead>
            <tr>
              <th>Status</th>
              <th>Step</th>
              {!ds && <th>Dataset</th>}
              <th>Parameters</th>
              <th>Started</th>
              <th class="num">Duration</th>
              <th>Result</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((j) => (
              <JobRow
                key={j.id}
                job={j}
                showDataset={!ds}
                open={open === j.id}
                onToggle={() => setOpen(open === j.id ? null : j.id)}
                onRerun={(nj) => {
                  track(nj);
                  setIds((old) => [nj.id, ...(old ?? [])]);
                }}
              />
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

function when(ms: string): string {
  const t = Number(ms);
  if (!Number.isFinite(t)) return '–';
  const d = new Date(t);
  const today = new Date();
  const time = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toDateString() === today.toDateString() ? time : `${d.toLocaleDateString('en-CA')} ${time}`;
}

function ParamBadges({ params }: { params: Record<string, unknown> }) {
  const entries = Object.entries(params ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== '');
  if (!entries.length) return <span class="muted small">defaults</span>;
  return (
    <span class="badges">
      {entries.map(([k, v]) => (
        <span class="pbadge" key={k}>
          <span class="k">{k}</span> {typeof v === 'object' ? JSON.stringify(v) : String(v)}
        </span>
      ))}
    </span>
  );
}

function resultLink(j: Job) {
  if (!j.artifact) return null;
  if (j.step === 'scope') return <a href={explorePath(j.dataset, j.artifact)}>{j.artifact}</a>;
  if (j.step === 'delete' || j.step === 'ingest') return <code>{j.artifact}</code>;
  const key = j.step === 'embed' ? 'embedding' : j.step === 'label' ? 'labels' : j.step;
  return <a href={`${setupPath(j.dataset)}?${key}=${encodeURIComponent(j.artifact)}`}>{j.artifact}</a>;
}

function JobRow({ job: j, showDataset, open, onToggle, onRerun }: { job: Job; showDataset: boolean; open: boolean; onToggle: () => void; onRerun: (j: Job) => void }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const act = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setErr(null);
    try {
      await f();
    } catch (e) {
      setErr(errText(e));
    } finally {
      setBusy(false);
    }
  };
  const error = jobError(j);
  return (
    <>
      <tr class={`job-row st-${j.status}${open ? ' open' : ''}`} data-testid="job-row" data-job={j.id} data-step={j.step} data-status={j.status}>
        <td>
          <span class="status">
            <span class={`status-dot ${j.status}`} />
            {j.status}
          </span>
        </td>
        <td>
          <strong>{j.step}</strong>
          {j.rerun_of && (
            <div class="muted small" title={`A rerun of ${j.rerun_of}`} data-rerun-of={j.rerun_of}>
              rerun
            </div>
          )}
        </td>
        {showDataset && (
          <td>
            <a href={j.step === 'ingest' && j.status !== 'done' ? jobsPath(j.dataset) : setupPath(j.dataset)}>{j.dataset}</a>
          </td>
        )}
        <td class="params">
          <ParamBadges params={j.params} />
        </td>
        <td class="small">{when(j.started_at)}</td>
        <td class="num small">{fmtMs(jobMs(j))}</td>
        <td class="result">
          {j.status === 'running' ? (
            <span class="job-running">
              <span class="small">{stageText(j)}</span>
              <ProgressBar job={j} />
            </span>
          ) : j.status === 'error' ? (
            <span class="error small" title={error ?? ''}>
              {error ?? 'failed'}
            </span>
          ) : j.status === 'cancelled' ? (
            <span class="muted small">cancelled</span>
          ) : (
            resultLink(j)
          )}
          {err && <div class="error small">{err}</div>}
        </td>
        <td class="actions">
          {j.status === 'running' && (
            <button class="btn" data-write="job-cancel" data-testid="job-cancel" disabled={busy} onClick={() => act(() => cancelJob(j.id))}>
              Cancel
            </button>
          )}
          {(j.status === 'error' || j.status === 'cancelled') && (
            <button class="btn" data-write="job-rerun" data-testid="job-rerun" disabled={busy} onClick={() => act(async () => onRerun(await rerunJob(j.id)))}>
              Rerun
            </button>
          )}
          <button class="btn link-btn" data-testid="job-log-toggle" aria-expanded={open} onClick={onToggle}>
            {open ? 'Hide log' : 'Log'}
          </button>
        </td>
      </tr>
      {open && (
        <tr class="job-log-row">
          <td colSpan={showDataset ? 8 : 7}>
            <JobLog job={j} />
          </td>
        </tr>
      )}
    </>
  );
}

/** Parses a finished job's event stream (the server replays it and closes it). */
function parseSse(text: string): JobEvent[] {
  const out: JobEvent[] = [];
  for (const block of text.split(/\n\n+/)) {
    let id = 0;
    let kind = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('id:')) id = Number(line.slice(3).trim());
      else if (line.startsWith('event:')) kind = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (!data) continue;
    try {
      out.push({ id, kind, data: JSON.parse(data) });
    } catch {
      out.push({ id, kind, data: { message: data } });
    }
  }
  return out;
}

function eventText(e: JobEvent): string {
  const d = e.data ?? {};
  switch (e.kind) {
    case 'progress':
      return `${d.stage}${d.total ? ` ${d.done} / ${d.total}` : ''}`;
    case 'log':
      return String(d.message ?? '');
    case 'done':
      return `done: ${d.artifact ?? ''}`;
    case 'error':
      return `error${d.code ? ` (${d.code})` : ''}: ${d.error ?? ''}`;
    case 'cancelled':
      return String(d.message ?? 'cancelled');
    default:
      return JSON.stringify(d);
  }
}

/** A job's log: its events, progress reports of a stage folded into the last one. */
function JobLog({ job }: { job: Job }) {
  const live = jobLogs.value[job.id];
  const [fetched, setFetched] = useState<JobEvent[] | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    if (job.status === 'running' || live?.length) return;
    const ac = new AbortController();
    fetch(`${jobUrl(job.id)}/events`, { signal: ac.signal })
      .then(async (r) => {
        if (!r.ok) throw new Error(r.status === 404 ? 'this server no longer has its log (a job of an earlier run of the server)' : `HTTP ${r.status}`);
        setFetched(parseSse(await r.text()));
      })
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setErr(errText(e));
      });
    return () => ac.abort();
  }, [job.id, job.status]);
  const events = live?.length ? live : (fetched ?? []);
  // Successive progress events of one stage: only the last.
  const folded = events.filter((e, i) => !(e.kind === 'progress' && events[i + 1]?.kind === 'progress' && events[i + 1]?.data?.stage === e.data?.stage));
  return (
    <div class="job-log" data-testid="job-log">
      <div class="muted small">
        {job.id} · {job.events} events
      </div>
      {err && <p class="muted small">{err}</p>}
      {!err && !events.length && <p class="muted small">Loading the log…</p>}
      {err && !events.length && job.last_event && <pre>{eventText(job.last_event)}</pre>}
      {folded.length > 0 && (
        <pre>
          {folded.map((e) => (
            <div key={e.id} class={`ev k-${e.kind}`}>
              <span class="muted">{String(e.id).padStart(3, ' ')}</span> <span class="kind">{e.kind.padEnd(9, ' ')}</span> {eventText(e)}
            </div>
          ))}
        </pre>
      )}
    </div>
  );
}
