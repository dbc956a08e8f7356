// A new dataset from a file: drop it (or pick it), see the server's preview
// (the first rows, each column's type, the guessed text column), confirm the
// text column and the dataset's id, then ingest it as a job and go on to its
// setup page when it is done.
import { useEffect, useRef, useState } from 'preact/hooks';
import { navigate, setupPath } from '../route';
import { jobs, onJobEnd, track } from '../jobs';
import { dropUpload, errText, ingest, upload, type Job, type Preview } from '../setupApi';
import { JobLine } from './JobLine';

const EXTENSIONS = ['.csv', '.tsv', '.parquet', '.jsonl', '.ndjson'];
const ID = /^[A-Za-z0-9_-]{1,128}$/;

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

type State =
  | { kind: 'idle' }
  | { kind: 'uploading'; name: string; sent: number; total: number }
  | { kind: 'preview'; preview: Preview }
  | { kind: 'ingesting'; preview: Preview; job: string };

export function Upload({ onDone }: { onDone?: () => void }) {
  const [state, setState] = useState<State>({ kind: 'idle' });
  const [err, setErr] = useState<string | null>(null);
  const [over, setOver] = useState(false);
  const [textColumn, setTextColumn] = useState<string>('');
  const [dsId, setDsId] = useState('');
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const abort = useRef<AbortController | null>(null);

  // Once ingested: the new dataset's setup page.
  useEffect(() => {
    if (state.kind !== 'ingesting') return;
    return onJobEnd((j) => {
      if (j.id !== state.job) return;
      if (j.status === 'done') {
        onDone?.();
        navigate(setupPath(j.dataset));
      }
    });
  }, [state]);

  const send = async (file: File) => {
    setErr(null);
    const ext = file.name.slice(file.name.lastIndexOf('.')).toLowerCase();
    if (!EXTENSIONS.includes(ext)) {
      setErr(`${file.name}: not a CSV, TSV, Parquet or JSON Lines file (${EXTENSIONS.join(', ')})`);
      return;
    }
    abort.current = new AbortController();
    setState({ kind: 'uploading', name: file.name, sent: 0, total: file.size });
    try {
      const p = await upload(file, (sent, total) => setState({ kind: 'uploading', name: file.name, sent, total }), abort.current.signal);
      setTextColumn(p.text_column ?? p.text_columns[0] ?? '');
      setDsId(p.dataset);
      setState({ kind: 'preview', preview: p });
    } catch (e) {
      setState({ kind: 'idle' });
      if ((e as Error).name !== 'AbortError') setErr(errText(e));
    }
  };

  const cancel = () => {
    if (state.kind === 'uploading') abort.current?.abort();
    if (state.kind === 'preview') dropUpload(state.preview.upload);
    setState({ kind: 'idle' });
    setErr(null);
  };

  const start = async (e: Event) => {
    e.preventDefault();
    if (state.kind !== 'preview') return;
    setErr(null);
    setBusy(true);
    try {
      const j = await ingest(state.preview.upload, textColumn, dsId.trim());
      track(j);
      setState({ kind: 'ingesting', preview: state.preview, job: j.id });
    } catch (x) {
      setErr(errText(x));
    } finally {
      setBusy(false);
    }
  };

  if (state.kind === 'idle' || state.kind === 'uploading')
    return (
      <div
        class={`dropzone${over ? ' over' : ''}`}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const f = e.dataTransfer?.files?.[0];
          if (f && state.kind === 'idle') send(f);
        }}
      >
        {state.kind === 'uploading' ? (
          <div class="uploading" data-testid="uploading">
            <span>
              Uploading <strong>{state.name}</strong> · {fmtBytes(state.sent)} of {fmtBytes(state.total)}
            </span>
            <div class="progress">
              <div style={{ width: `${state.total ? ((100 * state.sent) / state.total).toFixed(1) : 0}%` }} />
            </div>
            <button class="btn" onClick={cancel}>
              Cancel
            </button>
          </div>
        ) : (
          <>
            <div class="drop-icon" aria-hidden="true">
              ⤒
            </div>
            <div>
              <strong>New dataset</strong>: drop a CSV, TSV, Parquet or JSON Lines file here, or{' '}
              <button class="link" data-write="upload" data-testid="choose-file" onClick={() => input.current?.click()}>
                choose a file
              </button>
              .
              <div class="muted small">You will see its first rows and pick the column of text to map before anything is made.</div>
            </div>
            <input
              ref={input}
              type="file"
              accept={EXTENSIONS.join(',')}
              hidden
              data-testid="file-input"
              onChange={(e) => {
                const f = (e.target as HTMLInputElement).files?.[0];
                (e.target as HTMLInputElement).value = '';
                if (f) send(f);
              }}
            />
          </>
        )}
        {err && (
          <p class="error small" data-testid="upload-error">
            {err}
          </p>
        )}
      </div>
    );

  const p = state.preview;
  const job: Job | undefined = state.kind === 'ingesting' ? jobs.value[state.job] : undefined;
  const idOk = ID.test(dsId.trim());
  return (
    <div class="preview" data-testid="preview">
      <div class="preview-head">
        <h2>{p.name}</h2>
        <span class="muted small">
          {p.format.toUpperCase()} · {fmtBytes(p.size)}
          {p.rows_total !== null ? <> · {p.rows_total.toLocaleString('en-US')} rows</> : null} · {p.columns.length} columns
        </span>
        <span class="spacer" />
        {!job && (
          <button class="icon" title="Discard this upload" aria-label="Discard this upload" onClick={cancel}>
            ×
          </button>
        )}
      </div>
      <form class="preview-form" onSubmit={start}>
        <label class="field">
          <span>Text column</span>
          <select value={textColumn} data-testid="text-column" disabled={!!job} onChange={(e) => setTextColumn((e.target as HTMLSelectElement).value)}>
            {p.text_columns.map((c) => (
              <option key={c} value={c}>
                {c}
                {c === p.text_column ? ' (guessed)' : ''}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Dataset id</span>
          <input value={dsId} data-testid="dataset-id" disabled={!!job} pattern="[A-Za-z0-9_\-]{1,128}" onInput={(e) => setDsId((e.target as HTMLInputElement).value)} />
        </label>
        {!job && (
          <button class="btn primary" type="submit" disabled={busy || !textColumn || !idOk} data-write="ingest" data-testid="ingest">
            Create dataset
          </button>
        )}
        {!idOk && <span class="error small">letters, digits, _ and - only</span>}
        {!p.text_columns.length && <span class="error small">No column holds text: this file cannot be mapped.</span>}
      </form>
      {job && <JobLine job={job} />}
      {err && (
        <p class="error small" data-testid="upload-error">
          {err}
        </p>
      )}
      <div class="preview-table-wrap">
        <table class="preview-table" data-testid="preview-table">
          <thead>
            <tr>
              {p.columns.map((c) => (
                <th key={c.name} class={c.name === textColumn ? 'text-col' : ''} data-column={c.name}>
                  <div>{c.name}</div>
                  <span class={`type ${c.type}`}>{c.type}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {p.rows.map((r, i) => (
              <tr key={i}>
                {p.columns.map((c) => (
                  <td key={c.name} class={c.name === textColumn ? 'text-col' : ''}>
                    {cell(r[c.name])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="muted small">
        The first {p.rows.length} rows{p.rows_total ? ` of ${p.rows_total.toLocaleString('en-US')}` : ''}. The text column is what gets embedded; every column stays in the dataset.
      </p>
    </div>
  );
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  const s = String(v);
  return s.length > 160 ? `${s.slice(0, 160)}…` : s;
}
