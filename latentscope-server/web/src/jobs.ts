// Jobs the pages show, kept up to date from each running job's Server-Sent
// Events (`/api/jobs/{id}/events`): progress, log, and how it ended.
import { signal } from '@preact/signals';
import { getJob, jobUrl, type Job, type JobEvent } from './setupApi';

/** Every job seen, by id (a new object on each change, so views re-render). */
export const jobs = signal<Record<string, Job>>({});
/** The events each followed job sent (its log). */
export const jobLogs = signal<Record<string, JobEvent[]>>({});

const streams = new Map<string, EventSource>();
const polls = new Map<string, number>();
/**
 * Event streams open at once: each holds one of the browser's six
 * connections to the server; more running jobs are polled instead.
 */
const MAX_STREAMS = 4;
const endListeners = new Set<(job: Job) => void>();

/** Called once when a followed job ends (done, error or cancelled). */
export function onJobEnd(cb: (job: Job) => void): () => void {
  endListeners.add(cb);
  return () => endListeners.delete(cb);
}

/**
 * A job's new state over what was known: an ended job never goes back to
 * running (the server's summary can lag its own terminal event by a moment).
 */
function merge(known: Job | undefined, next: Job): Job {
  if (!known) return next;
  if (known.status !== 'running' && next.status === 'running') {
    return { ...known, ...next, status: known.status, artifact: known.artifact ?? next.artifact, error: known.error ?? next.error, finished_at: known.finished_at };
  }
  return { ...known, ...next };
}

function put(job: Job) {
  jobs.value = { ...jobs.value, [job.id]: merge(jobs.value[job.id], job) };
}

function patch(id: string, change: Partial<Job>) {
  const j = jobs.value[id];
  if (j) put({ ...j, ...change });
}

function addLog(id: string, e: JobEvent) {
  const log = jobLogs.value[id] ?? [];
  if (log.length && log[log.length - 1].id >= e.id) return;
  jobLogs.value = { ...jobLogs.value, [id]: [...log, e] };
}

/** Adds or updates jobs from a listing; follows the running ones. */
export function track(list: Job | Job[]) {
  const next = { ...jobs.value };
  for (const j of Array.isArray(list) ? list : [list]) next[j.id] = merge(next[j.id], j);
  jobs.value = next;
  for (const j of Array.isArray(list) ? list : [list]) if (next[j.id].status === 'running') follow(j.id);
}

const parse = (e: Event): Record<string, unknown> | null => {
  try {
    return JSON.parse((e as MessageEvent).data);
  } catch {
    return null;
  }
};

function ended(id: string) {
  const j = jobs.value[id];
  if (j) endListeners.forEach((cb) => cb(j));
}

/** Polls a job until it ends (every second, then every 5 s). */
function poll(id: string) {
  if (polls.has(id)) return;
  let n = 0;
  const tick = () => {
    getJob(id).then(
      (j) => {
        if (!polls.has(id)) return;
        put(j);
        if (jobs.value[id].status !== 'running') {
          polls.delete(id);
          ended(id);
        } else polls.set(id, window.setTimeout(tick, ++n < 20 ? 1000 : 5000));
      },
      () => polls.delete(id),
    );
  };
  polls.set(id, window.setTimeout(tick, 1000));
}

/** Follows a job's events until it ends. */
export function follow(id: string) {
  if (streams.has(id) || polls.has(id)) return;
  if (streams.size >= MAX_STREAMS) {
    poll(id);
    return;
  }
  const es = new EventSource(`${jobUrl(id)}/events`);
  streams.set(id, es);
  const seen = (e: Event, kind: string) => {
    const data = parse(e);
    const n = Number((e as MessageEvent).lastEventId);
    const ev: JobEvent = { id: Number.isFinite(n) ? n : 0, kind, data };
    addLog(id, ev);
    patch(id, { last_event: ev, events: Math.max(jobs.value[id]?.events ?? 0, ev.id) });
    return data;
  };
  const end = (change: Partial<Job>) => {
    es.close();
    streams.delete(id);
    patch(id, { ...change, finished_at: jobs.value[id]?.finished_at ?? String(Date.now()) });
    // The server's own summary (finished_at, error) when it has one.
    getJob(id).then(put, () => {}).finally(() => ended(id));
  };
  es.addEventListener('progress', (e) => {
    const d = seen(e, 'progress');
    if (d) patch(id, { progress: d as unknown as Job['progress'] });
  });
  es.addEventListener('log', (e) => seen(e, 'log'));
  es.addEventListener('done', (e) => {
    const d = seen(e, 'done');
    end({ status: 'done', artifact: (d?.artifact as string) ?? null });
  });
  es.addEventListener('cancelled', (e) => {
    seen(e, 'cancelled');
    end({ status: 'cancelled' });
  });
  es.addEventListener('error', (e) => {
    // The job's own `error` event carries data; a broken connection does not
    // (EventSource reconnects by itself, resuming after the last id).
    if (e instanceof MessageEvent && e.data) {
      const d = seen(e, 'error');
      end({ status: 'error', error: (d?.error as string) ?? 'failed' });
    } else if (es.readyState === EventSource.CLOSED) {
      // The stream was refused (a job of an earlier run of the server has
      // none): its state from polling.
      streams.delete(id);
      poll(id);
    }
  });
}

/** Stops following every job (when a page goes away). */
export function unfollowAll() {
  for (const es of streams.values()) es.close();
  streams.clear();
  for (const t of polls.values()) clearTimeout(t);
  polls.clear();
}

/** Milliseconds a job ran (so far, while it runs). */
export function jobMs(j: Job, now = Date.now()): number | null {
  const start = Number(j.started_at);
  if (!Number.isFinite(start)) return null;
  const end = j.finished_at ? Number(j.finished_at) : j.status === 'running' ? now : null;
  return end === null || !Number.isFinite(end) ? null : Math.max(0, end - start);
}

/** A short text for a duration. */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The job's error message: its `error` field, else its last event's. */
export function jobError(j: Job): string | null {
  if (j.error) return j.error;
  const d = j.last_event?.data;
  if (j.status === 'error' && d && typeof d.error === 'string') return d.error;
  return null;
}
