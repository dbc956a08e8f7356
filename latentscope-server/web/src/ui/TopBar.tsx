import { useEffect, useRef } from 'preact/hooks';
import * as S from '../store';
import { Logo } from './Logo';
import { comparePath, setupPath } from '../route';
import { SITE } from '../site';

function colorColumns(): string[] {
  const meta = S.scopeJson.value?.scope.dataset;
  if (!meta) return [];
  const cm = meta.column_metadata ?? {};
  return meta.columns.filter((c) => {
    if (c === meta.text_column) return false;
    const m = cm[c];
    if (!m) return true;
    const numeric = /int|float|double|decimal/i.test(m.data_type ?? '') || m.type === 'number';
    if (numeric) return true;
    const u = m.unique_values_count ?? 0;
    return u > 0 && u <= Math.max(2000, 0) && u < meta.length * 0.5;
  });
}

export function TopBar({ ds, scope, onScope }: { ds: string; scope: string; onScope: (s: string) => void }) {
  const v = S.versionInfo.value;
  const scopes = S.dataset.value?.scopes ?? [];
  const sj = S.scopeJson.value;
  const cols = colorColumns();
  const current = sj?.scope.id ?? scope;
  return (
    <header class="topbar">
      <a class="brand" href={SITE ?? '/'} title={SITE ? 'The start view' : 'All datasets'}>
        <Logo /> latentscope
      </a>
      <span class="crumb" title="Dataset">
        {ds}
      </span>
      {S.canWrite.value && (
        <a class="nav-link" href={setupPath(ds, null, current)} data-write="nav-setup" data-nav="setup" title="Make more runs of this dataset: embeddings, projections, clusterings, labels, scopes">
          Setup
        </a>
      )}
      {SITE ? (
        <span class="ctl" data-testid="scope-name" title={sj?.scope.description}>
          <span>Scope</span>
          <strong class="scope-name">{sj?.scope.label && sj.scope.label !== current ? sj.scope.label : current}</strong>
        </span>
      ) : (
        <label class="ctl">
          <span>Scope</span>
          <select
            data-testid="scope-select"
            value={S.switching.value ?? current}
            onChange={(e) => onScope((e.target as HTMLSelectElement).value)}
          >
            {scopes.length === 0 && <option value={current}>{sj?.scope.label ? `${sj.scope.label} (${current})` : current}</option>}
            {scopes.map((s) => (
              <option value={s.id} key={s.id}>
                {s.label && s.label !== s.id ? `${s.label} (${s.id})` : s.id}
              </option>
            ))}
          </select>
          {S.switching.value && <span class="spinner" aria-label="loading" />}
        </label>
      )}
      <label class="ctl">
        <span>Colour</span>
        <select
          data-testid="color-select"
          value={S.colorBy.value}
          onChange={(e) => (S.colorBy.value = (e.target as HTMLSelectElement).value)}
        >
          <option value="cluster">cluster</option>
          {cols.map((c) => (
            <option value={c} key={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
      <label class="ctl slider" title="Point size">
        <span>Size</span>
        <input
          type="range"
          min="0.5"
          max="8"
          step="0.5"
          value={S.pointSize.value}
          data-testid="size"
          onInput={(e) => (S.pointSize.value = +(e.target as HTMLInputElement).value)}
        />
      </label>
      <label class="ctl slider" title="Point opacity">
        <span>Opacity</span>
        <input
          type="range"
          min="0.05"
          max="1"
          step="0.05"
          value={S.opacity.value}
          data-testid="opacity"
          onInput={(e) => (S.opacity.value = +(e.target as HTMLInputElement).value)}
        />
      </label>
      <CardFields />
      {!SITE && <CompareMenu ds={ds} />}
      <span class="spacer" />
      {sj && (
        <span class="muted small scope-info" title={sj.scope.description}>
          {sj.rows.toLocaleString('en-US')} rows ·{' '}
          {sj.labels.filter((l) => l.cluster !== sj.scope.cluster?.unclustered_cluster).length} clusters
        </span>
      )}
      {v?.read_only && (
        <span class="badge" data-testid="read-only" title="This server shows data but changes nothing">
          read-only
        </span>
      )}
    </header>
  );
}

/** Links to the compare pages, with this scope's layout and clustering on the left. */
function CompareMenu({ ds }: { ds: string }) {
  const sj = S.scopeJson.value;
  const arts = S.dataset.value?.artifacts ?? [];
  if (!sj) return null;
  const n = (kind: string) => arts.filter((a) => a.kind === kind && a.state === 'finished').length;
  const item = (what: 'umaps' | 'clusters', left: string, count: number, text: string) => (
    <a class="menu-link" href={comparePath(ds, what, left)} data-testid={`compare-${what}-link`} title={count < 2 ? `${ds} has one ${what === 'umaps' ? 'layout' : 'clustering'}: make another on the setup page` : undefined}>
      {text} <span class="muted small">{left} vs …</span>
    </a>
  );
  return (
    <details class="ctl menu compare-menu" data-testid="compare-menu">
      <summary title="Compare this layout or clustering with another of the dataset">Compare</summary>
      <div class="menu-pop">
        {item('umaps', sj.scope.umap_id, n('umap'), 'Layouts')}
        {item('clusters', sj.scope.cluster_id, n('cluster'), 'Clusterings')}
      </div>
    </details>
  );
}

/** Which columns the hover card shows. */
function CardFields() {
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    // Closes when you click elsewhere.
    const close = (e: MouseEvent) => {
      const el = ref.current;
      if (el?.open && !el.contains(e.target as Node)) el.open = false;
    };
    document.addEventListener('click', close);
    return () => document.removeEventListener('click', close);
  }, []);
  const meta = S.scopeJson.value?.scope.dataset;
  if (!meta) return null;
  const cols = meta.columns.filter((c) => c !== meta.text_column);
  if (!cols.length) return null;
  const chosen = S.cardColumns.value ?? cols.slice(0, 4);
  const toggle = (c: string) => {
    const next = chosen.includes(c) ? chosen.filter((x) => x !== c) : [...chosen, c];
    S.cardColumns.value = cols.filter((x) => next.includes(x));
  };
  return (
    <details class="ctl menu" data-testid="card-fields" ref={ref}>
      <summary title="Columns shown when you hover a point">Fields</summary>
      <div class="menu-pop">
        <div class="muted small">Hover card shows {meta.text_column} and:</div>
        {cols.map((c) => (
          <label key={c} class="check">
            <input type="checkbox" checked={chosen.includes(c)} onChange={() => toggle(c)} /> {c}
          </label>
        ))}
      </div>
    </details>
  );
}
