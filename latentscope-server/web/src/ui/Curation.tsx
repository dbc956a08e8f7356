// Curation edits waiting to be saved: what they are, undo, discard, and
// saving them as a new scope derived from this one (never edited in place).
import { useState } from 'preact/hooks';
import * as S from '../store';
import { dsUrl, getJSON, scopeUrl, sendJSON, type CurateBody, type CurateResult, type DatasetDetail } from '../api';

function describe(e: S.Edit): string {
  const n = (k: number) => k.toLocaleString('en-US');
  if (e.kind === 'label') return `cluster ${e.cluster} named “${e.label}”`;
  if (e.kind === 'move') return `${n(e.rows.length)} rows moved to “${S.labels.value[e.cluster]?.label ?? e.cluster}”`;
  return `${n(e.rows.length)} rows deleted`;
}

/** The body of …/curate for a list of edits. */
export function curateBody(edits: S.Edit[], label: string): CurateBody {
  const labels = new Map<number, { cluster: number; label: string; description: string }>();
  const body: CurateBody = {};
  for (const e of edits) if (e.kind === 'label') labels.set(e.cluster, { cluster: e.cluster, label: e.label, description: e.description });
  if (labels.size) body.labels = [...labels.values()];
  const moves = edits.filter((e) => e.kind === 'move').map((e) => ({ indices: e.rows, cluster: (e as { cluster: number }).cluster }));
  if (moves.length) body.moves = moves;
  const del = new Set<number>();
  for (const e of edits) if (e.kind === 'delete') for (const r of e.rows) del.add(r);
  if (del.size) body.deleted = [...del].sort((a, b) => a - b);
  if (label.trim()) body.label = label.trim();
  return body;
}

export function EditsBar({ ds, scope }: { ds: string; scope: string }) {
  const edits = S.edits.value;
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  if (!S.canWrite.value || !edits.length) return null;
  const sj = S.scopeJson.value;
  const placeholder = `${sj?.scope.label || scope} (curated)`;
  const save = async () => {
    setBusy(true);
    try {
      const r = await sendJSON<CurateResult>('POST', `${scopeUrl(ds, scope)}/curate`, curateBody(edits, name || placeholder));
      try {
        S.dataset.value = await getJSON<DatasetDetail>(dsUrl(ds));
      } catch {
        /* the list refreshes later */
      }
      S.edits.value = [];
      setName('');
      S.toast.value = `Saved as ${r.scope}${r.labels ? ` with labels ${r.labels}` : ''}`;
      S.lookups.switchScope(r.scope);
    } catch (e) {
      S.errorText.value = `save: ${(e as Error).message}`;
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="edits-bar" data-testid="edits-bar" data-write="curate">
      <strong>
        {edits.length} unsaved edit{edits.length > 1 ? 's' : ''}
      </strong>
      <span class="muted small last-edit">{describe(edits[edits.length - 1])}</span>
      <button class="btn" data-testid="undo" title="Undo the last edit" onClick={() => (S.edits.value = edits.slice(0, -1))}>
        Undo
      </button>
      <button class="btn" data-testid="discard" title="Drop every unsaved edit" onClick={() => (S.edits.value = [])}>
        Discard
      </button>
      <input placeholder={placeholder} value={name} aria-label="Name of the new scope" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <button class="btn primary" data-testid="save-scope" disabled={busy} onClick={save} title="Save the edits as a new scope derived from this one">
        {busy ? 'Saving…' : 'Save as new scope'}
      </button>
    </div>
  );
}

/** The form that renames a cluster or describes it (an edit, saved with the others). */
export function LabelForm({ cluster, onDone }: { cluster: number; onDone: () => void }) {
  const l = S.labels.value[cluster];
  const [label, setLabel] = useState(l?.label ?? '');
  const [desc, setDesc] = useState(l?.description ?? '');
  return (
    <form
      class="label-form"
      data-testid="label-form"
      data-write="label"
      onClick={(e) => e.stopPropagation()}
      onSubmit={(e) => {
        e.preventDefault();
        if (label.trim() && (label.trim() !== l?.label || desc !== (l?.description ?? '')))
          S.edits.value = [...S.edits.value, { kind: 'label', cluster, label: label.trim(), description: desc }];
        onDone();
      }}
    >
      <input value={label} aria-label="Label" data-testid="label-input" onInput={(e) => setLabel((e.target as HTMLInputElement).value)} autoFocus />
      <textarea value={desc} aria-label="Description" placeholder="Description" rows={2} onInput={(e) => setDesc((e.target as HTMLTextAreaElement).value)} />
      <div class="row">
        <button type="submit" class="btn primary" data-testid="label-apply">
          Apply
        </button>
        <button type="button" class="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
