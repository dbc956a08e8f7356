import { useEffect, useState } from 'preact/hooks';
import * as S from '../store';
import type { Row, RowCache } from '../api';
import { Value } from './fields';
import { SITE } from '../site';

/** The pinned row with every field. */
export function DetailPanel({ rows }: { rows: RowCache }) {
  const p = S.pinned.value;
  const [row, setRow] = useState<Row | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    setErr(null);
    if (p === null) return;
    rows.get(p).then(
      (r) => S.pinned.value === r.ls_index && setRow(r),
      (e) => setErr(String(e.message ?? e)),
    );
  }, [p]);
  if (p === null) return null;
  const meta = S.scopeJson.value?.scope.dataset;
  const textCol = meta?.text_column ?? '';
  const r = row && row.ls_index === p ? row : null;
  const sj = S.scopeJson.value;
  const cluster = S.lookups.clusterOf(p);
  const label = cluster !== null ? S.labels.value[cluster] : undefined;
  const keys = r ? [textCol, ...Object.keys(r).filter((k) => k !== textCol && k !== 'ls_index')] : [];
  return (
    <aside class="detail" data-testid="detail-panel" data-row={p}>
      <div class="detail-head">
        <strong>Row {p.toLocaleString('en-US')}</strong>
        <span class="spacer" />
        {(!SITE || (S.siteInfo.value?.neighbors_k ?? 0) > 0) && (
          <button
            class="link"
            data-testid="similar-rows"
            onClick={() => (S.search.value = { mode: 'row', query: String(p) })}
            title={SITE ? 'The rows nearest this one by meaning (precomputed)' : 'The rows nearest this one by meaning'}
          >
            Rows like this
          </button>
        )}
        <button class="link" onClick={() => S.lookups.centreOn(p)} title="Centre the map on this point">
          Show on map
        </button>
        <button class="icon" onClick={() => (S.pinned.value = null)} aria-label="Close details" title="Close (Esc)">
          ×
        </button>
      </div>
      {label && (
        <div class="chip">
          <span class="swatch" style={{ background: S.clusterColors.value[cluster!] }} />
          {label.label}
        </div>
      )}
      {err && <p class="error">{err}</p>}
      {!r && !err && <p class="muted">Loading…</p>}
      {r && (
        <dl class="detail-fields">
          {keys.map((k) => (
            <div class={`field ${k === textCol ? 'text' : ''}`} key={k}>
              <dt>{k}</dt>
              <dd>
                <Value v={r[k]} full />
              </dd>
            </div>
          ))}
          <div class="field">
            <dt>ls_index</dt>
            <dd>{p}</dd>
          </div>
          {sj && (
            <div class="field">
              <dt>scope</dt>
              <dd>{sj.scope.id}</dd>
            </div>
          )}
        </dl>
      )}
    </aside>
  );
}
