// One step of the setup page: its parameters and Run button, its jobs
// (progress, cancel, error and rerun), and the gallery of its earlier runs.
import type { ComponentChildren } from 'preact';
import type { Job, StepName } from '../setupApi';
import { JobLine } from './JobLine';

export const STEP_INFO: Record<StepName, { title: string; hint: string }> = {
  embed: { title: 'Embed', hint: 'Turn each row’s text into a vector' },
  umap: { title: 'Project', hint: 'Lay the vectors out in 2-D (UMAP or PCA)' },
  cluster: { title: 'Cluster', hint: 'Group nearby points with HDBSCAN' },
  label: { title: 'Label', hint: 'Name each cluster' },
  scope: { title: 'Scope', hint: 'Combine the chosen runs into a map to explore' },
};

export function StepPanel({
  step,
  n,
  input,
  missing,
  form,
  onRun,
  rest,
  setRest,
  runError,
  jobs,
  onDismiss,
  onRerun,
  count,
  highlight,
  children,
}: {
  step: StepName;
  n: number;
  /** What the step reads (the chosen run before it), shown in its head. */
  input: ComponentChildren;
  /** Why it cannot run yet (no run chosen before it). */
  missing: string | null;
  form: ComponentChildren;
  onRun: () => void;
  /** Whether Run goes on with the steps after this one (undefined: the last step). */
  rest?: boolean;
  setRest: (v: boolean) => void;
  runError: string | null;
  jobs: Job[];
  onDismiss: (id: string) => void;
  onRerun: (j: Job) => void;
  count: number;
  highlight: boolean;
  children: ComponentChildren;
}) {
  const info = STEP_INFO[step];
  const running = jobs.some((j) => j.status === 'running');
  return (
    <section class={`step-panel${highlight ? ' highlight' : ''}${missing ? ' waiting' : ''}`} id={`step-${step}`} data-step={step} data-testid={`step-${step}`}>
      <header class="step-head">
        <span class="step-n">{n}</span>
        <h2>{info.title}</h2>
        <span class="muted small">{info.hint}</span>
        <span class="spacer" />
        {input}
      </header>
      <div class="step-body">
        <form
          class="step-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!missing) onRun();
          }}
        >
          <div class="fields">{form}</div>
          <div class="run-row">
            <button class="btn primary run" type="submit" disabled={!!missing} data-write={`run-${step}`} data-testid={`run-${step}`}>
              {running ? 'Run another' : `Run ${info.title.toLowerCase()}`}
            </button>
            {missing ? (
              <span class="muted small">{missing}</span>
            ) : (
              rest !== undefined && (
                <label class="check small muted" title="When this run is done, run each next step with its parameters here, through to a new scope">
                  <input type="checkbox" checked={rest} data-testid={`rest-${step}`} onChange={(e) => setRest((e.target as HTMLInputElement).checked)} /> then the next steps
                </label>
              )
            )}
          </div>
          {runError && (
            <p class="error small" data-testid="run-error">
              {runError}
            </p>
          )}
        </form>
        <div class="step-runs">
          {jobs.length > 0 && (
            <div class="step-jobs">
              {jobs.map((j) => (
                <JobLine key={j.id} job={j} onRerun={onRerun} onDismiss={j.status === 'running' ? undefined : () => onDismiss(j.id)} />
              ))}
            </div>
          )}
          <div class="gallery" data-testid={`gallery-${step}`} data-count={count}>
            {children}
          </div>
        </div>
      </div>
    </section>
  );
}
