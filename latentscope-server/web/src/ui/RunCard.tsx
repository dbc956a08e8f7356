// One run in a step's gallery: its thumbnail, name, parameters as badges,
// counts and time taken; a click chooses it for the next step; it can be
// named, described and deleted (what was made from it listed first).
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { badges, counts, describe, thumbnail, title } from '../runs';
import { deleteArtifact, dependents, errText, renameArtifact, type Artifact } from '../setupApi';
import { fmtMs } from '../jobs';
import { Dialog } from './Dialog';

export function RunCard({
  ds,
  run,
  chosen,
  seconds,
  onChoose,
  onChanged,
  children,
}: {
  ds: string;
  run: Artifact;
  chosen: boolean;
  seconds: number | null;
  onChoose?: () => void;
  onChanged: (deleted?: string[]) => void;
  children?: ComponentChildren;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState('');
  const [desc, setDesc] = useState('');
  const [confirm, setConfirm] = useState<string[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  const img = thumbnail(ds, run);
  const r = run.record ?? {};
  const d = describe(run);
  const choose = run.state === 'finished' ? onChoose : undefined;

  const startEdit = (e: Event) => {
    e.stopPropagation();
    setName(run.name ?? (run.kind === 'scope' ? String(r.label ?? '') : ''));
    setDesc(run.description ?? (run.kind === 'scope' ? String(r.description ?? '') : ''));
    setErr(null);
    setEditing(true);
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await renameArtifact(ds, run.id, { name: name.trim(), description: desc.trim() });
      setEditing(false);
      onChanged();
    } catch (x) {
      setErr(errText(x));
    } finally {
      setBusy(false);
    }
  };
  const askDelete = async (e: Event) => {
    e.stopPropagation();
    setErr(null);
    try {
      setConfirm((await dependents(ds, run.id)).dependents);
    } catch (x) {
      setErr(errText(x));
    }
  };
  const doDelete = async () => {
    setBusy(true);
    try {
      const res = await deleteArtifact(ds, run.id, (confirm ?? []).length > 0);
      setConfirm(null);
      onChanged(res.deleted);
    } catch (x) {
      setErr(errText(x));
      setConfirm(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div
      class={`run-card${chosen ? ' chosen' : ''}${choose ? ' choosable' : ''}${run.state !== 'finished' ? ' partial' : ''}`}
      data-testid="run-card"
      data-run={run.id}
      data-chosen={chosen ? 'true' : undefined}
      onClick={() => !editing && !confirm && choose?.()}
      title={choose && !chosen ? 'Use this run for the next step' : undefined}
    >
      <div class="run-thumb">
        {img ? (
          <img src={img} alt={`${run.id}`} loading="lazy" />
        ) : (
          <div class="thumb-text">
            <span>{String(r.model_spec ?? r.model_id ?? run.kind)}</span>
            {typeof r.dimensions === 'number' && <span class="muted small">{r.dimensions} dimensions</span>}
          </div>
        )}
        {chosen && <span class="chosen-mark">✓ in use</span>}
        {run.state !== 'finished' && (
          <span class="state-mark" title="Not finished (cancelled or interrupted): running the same step again resumes it">
            {run.state}
          </span>
        )}
      </div>
      {editing ? (
        <form class="run-edit" onSubmit={save} onClick={(e) => e.stopPropagation()} data-testid="run-edit">
          <input value={name} placeholder={run.id} aria-label="Name" data-testid="run-name-input" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <textarea
            value={desc}
            rows={2}
            placeholder="Description"
            aria-label="Description"
            data-testid="run-desc-input"
            onInput={(e) => setDesc((e.target as HTMLTextAreaElement).value)}
          />
          <div class="row">
            <button class="btn primary" type="submit" disabled={busy} data-testid="run-save">
              Save
            </button>
            <button class="btn" type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div class="run-text">
          <div class="run-title">
            <strong data-testid="run-title">{title(run)}</strong>
            <span class="run-actions">
              <button class="icon" data-write="run-rename" data-testid="run-rename" title="Name and describe this run" aria-label={`Rename ${run.id}`} onClick={startEdit}>
                <Pencil />
              </button>
              <button class="icon" data-write="run-delete" data-testid="run-delete" title="Delete this run" aria-label={`Delete ${run.id}`} onClick={askDelete}>
                <Trash />
              </button>
            </span>
          </div>
          {title(run) !== run.id && <span class="muted small">{run.id}</span>}
          {d && (
            <span class="small run-desc" data-testid="run-desc">
              {d}
            </span>
          )}
          <div class="badges">
            {badges(run).map((b) => (
              <span class="pbadge" key={b.k} title={b.k}>
                <span class="k">{b.k}</span> {b.v}
              </span>
            ))}
          </div>
          <span class="muted small run-counts">
            {[...counts(run), seconds !== null ? fmtMs(seconds * 1000) : null].filter(Boolean).join(' · ')}
          </span>
          {children}
        </div>
      )}
      {err && <span class="error small run-err">{err}</span>}
      {confirm && (
        <Dialog
          title={`Delete ${run.id}?`}
          confirm={confirm.length ? `Delete ${confirm.length + 1} runs` : 'Delete'}
          danger
          busy={busy}
          onConfirm={doDelete}
          onCancel={() => setConfirm(null)}
        >
          {confirm.length ? (
            <>
              <p>These runs were made from it and are deleted with it:</p>
              <ul class="dependents" data-testid="dependents">
                {confirm.map((x) => (
                  <li key={x}>
                    <code>{x}</code>
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p>Nothing was made from it. Its files are removed from the data directory.</p>
          )}
        </Dialog>
      )}
    </div>
  );
}

const Pencil = () => (
  <svg width="13" height="13" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round">
    <path d="M11.2 2.3l2.5 2.5L5.5 13H3v-2.5z" />
  </svg>
);
const Trash = () => (
  <svg width="13" height="13" viewBox="0 0 16 16" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round">
    <path d="M2.5 4h11M6 4V2.5h4V4M4 4l.7 9.5h6.6L12 4M6.8 6.5v4.5M9.2 6.5v4.5" />
  </svg>
);
