// One job's state in a line: a progress bar with its stage while it runs
// (and a Cancel button), how long it took when done, the error and a Rerun
// button when it failed or was cancelled.
import { useEffect, useState } from 'preact/hooks';
import { cancelJob, errText, rerunJob, type Job } from '../setupApi';
import { fmtMs, jobError, jobMs, track } from '../jobs';

function useTick(on: boolean, ms = 250) {
  const [, set] = useState(0);
  useEffect(() => {
    if (!on) return;
    const t = setInterval(() => set((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [on, ms]);
}

export function stageText(j: Job): string {
  const p = j.progress;
  if (!p) return j.step;
  const stage = p.stage.includes(':') ? p.stage.split(':').slice(1).join(':') : p.stage;
  return p.total ? `${stage} ${p.done.toLocaleString('en-US')} / ${p.total.toLocaleString('en-US')}` : stage;
}

export function ProgressBar({ job }: { job: Job }) {
  const p = job.progress;
  const frac = p && p.total ? Math.min(1, p.done / p.total) : null;
  return (
    <div class={`progress${frac === null ? ' indeterminate' : ''}`} role="progressbar" aria-valuenow={frac === null ? undefined : Math.round(frac * 100)}>
      {/* A new element per stage: the bar starts again from the left, not animated back. */}
      <div key={p?.stage ?? ''} style={frac === null ? undefined : { width: `${(frac * 100).toFixed(1)}%` }} />
    </div>
  );
}

/**
 * A job while it runs and once it ended. `onRerun` gets the new job;
 * `onDismiss` hides an ended one.
 */
export function JobLine({ job, onRerun, onDismiss, compact }: { job: Job; onRerun?: (j: Job) => void; onDismiss?: () => void; compact?: boolean }) {
  const running = job.status === 'running';
  useTick(running);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const ms = jobMs(job);
  const cancel = async () => {
    setBusy(true);
    setErr(null);
    try {
      await cancelJob(job.id);
    } catch (e) {
      setErr(errText(e));
    } finally {
      setBusy(false);
    }
  };
  const rerun = async () => {
    setBusy(true);
    setErr(null);
    try {
      const j = await rerunJob(job.id);
      track(j);
      onRerun?.(j);
    } catch (e) {
      setErr(errText(e));
    } finally {
      setBusy(false);
    }
  };
  const error = jobError(job);
  return (
    <div class={`job-line st-${job.status}${compact ? ' compact' : ''}`} data-testid="job-line" data-job={job.id} data-status={job.status}>
      <span class={`status-dot ${job.status}`} title={job.status} />
      {running ? (
        <>
          <span class="job-stage" data-testid="job-stage">
            {stageText(job)}
          </span>
          <ProgressBar job={job} />
          <span class="muted small num">{fmtMs(ms)}</span>
          <button class="btn" data-write="job-cancel" data-testid="job-cancel" disabled={busy} onClick={cancel}>
            Cancel
          </button>
        </>
      ) : (
        <>
          <span class="job-result">
            {job.status === 'done' && (
              <>
                {job.step} done{job.artifact ? <> → <code>{job.artifact}</code></> : null} in {fmtMs(ms)}
              </>
            )}
            {job.status === 'cancelled' && <>{job.step} cancelled after {fmtMs(ms)}; earlier runs are intact</>}
            {job.status === 'error' && (
              <span class="error" data-testid="job-error">
                {job.step} failed: {error ?? 'unknown error'}
              </span>
            )}
          </span>
          <span class="spacer" />
          {(job.status === 'error' || job.status === 'cancelled') && (
            <button class="btn" data-write="job-rerun" data-testid="job-rerun" disabled={busy} onClick={rerun}>
              Rerun
            </button>
          )}
          {onDismiss && (
            <button class="icon" title="Hide" aria-label="Hide" onClick={onDismiss}>
              ×
            </button>
          )}
        </>
      )}
      {err && <span class="error small">{err}</span>}
    </div>
  );
}
