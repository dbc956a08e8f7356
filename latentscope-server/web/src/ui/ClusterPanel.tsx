import { useEffect, useMemo, useState } from 'preact/hooks';
import * as S from '../store';
import type { LabelInfo } from '../api';
import { LabelForm } from './Curation';

type Sort = 'size' | 'name' | 'position';

/** Position along a Hilbert curve over [-1, 1]² (order 10): nearby clusters sort together. */
function hilbert(x: number, y: number): number {
  const n = 1024;
  let px = Math.max(0, Math.min(n - 1, Math.floor(((x + 1) / 2) * n)));
  let py = Math.max(0, Math.min(n - 1, Math.floor(((1 - y) / 2) * n)));
  let d = 0;
  for (let s = n / 2; s >= 1; s /= 2) {
    const rx = (px & s) > 0 ? 1 : 0;
    const ry = (py & s) > 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry === 0) {
      if (rx === 1) {
        px = n - 1 - px;
        py = n - 1 - py;
      }
      [px, py] = [py, px];
    }
  }
  return d;
}

export function ClusterPanel({ onPick }: { onPick: (c: number | null) => void }) {
  const [sort, setSort] = useState<Sort>('size');
  const [filter, setFilter] = useState('');
  const [editing, setEditing] = useState<number | null>(null);
  const write = S.canWrite.value;
  const labels = S.labels.value;
  const colors = S.clusterColors.value;
  const sel = S.selectedCluster.value;
  const open = S.panelOpen.value;
  const hot = S.hovered.value?.cluster ?? null;
  const un = S.scopeJson.value?.scope.cluster?.unclustered_cluster ?? -1;
  const sorted = useMemo(() => {
    const keyed = labels.map((l) => ({ l, h: hilbert(l.centroid[0], l.centroid[1]) }));
    const cmp: Record<Sort, (a: (typeof keyed)[0], b: (typeof keyed)[0]) => number> = {
      size: (a, b) => b.l.count - a.l.count,
      name: (a, b) => a.l.label.localeCompare(b.l.label),
      position: (a, b) => a.h - b.h,
    };
    const out = keyed.sort(cmp[sort]).map((k) => k.l);
    // Unclustered last.
    return [...out.filter((l) => l.cluster !== un), ...out.filter((l) => l.cluster === un)];
  }, [labels, sort, un]);
  // The list waits for the map's first paint, then shows 80 rows, then all.
  const [all, setAll] = useState(false);
  const painted = S.painted.value;
  useEffect(() => {
    if (!painted || all) return;
    const t = window.setTimeout(() => setAll(true), 400);
    return () => clearTimeout(t);
  }, [painted, all]);
  // The selected cluster's row comes into view (e.g. after a click on its label).
  useEffect(() => {
    if (sel === null) return;
    if (!all) setAll(true);
    const li = document.querySelector(`.cluster-list li[data-cluster="${sel}"]`);
    li?.scrollIntoView({ block: 'nearest' });
  }, [sel, all]);
  const q = filter.trim().toLowerCase();
  const matching = q ? sorted.filter((l) => l.label.toLowerCase().includes(q)) : sorted;
  const shown = !painted ? [] : all || q ? matching : matching.slice(0, 80);
  const max = labels.reduce((m, l) => (l.cluster !== un ? Math.max(m, l.count) : m), 1);
  const named = labels.filter((l) => l.cluster !== un).length;

  return (
    <aside class={`clusters ${open ? 'open' : 'closed'}`} data-testid="cluster-panel">
      <div class="panel-head">
        <button
          class="icon toggle"
          onClick={() => (S.panelOpen.value = !open)}
          title={open ? 'Hide clusters' : 'Show clusters'}
          aria-expanded={open}
          data-testid="cluster-panel-toggle"
        >
          {open ? '‹' : '›'}
        </button>
        {open && (
          <>
            <strong>Clusters</strong>
            <span class="muted small">{named}</span>
          </>
        )}
      </div>
      {open && (
        <>
          <div class="panel-tools">
            <input
              type="search"
              placeholder="Find a cluster"
              value={filter}
              onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
            />
            <div class="seg" role="group" aria-label="Sort clusters">
              {(['size', 'name', 'position'] as Sort[]).map((s) => (
                <button
                  key={s}
                  class={sort === s ? 'on' : ''}
                  onClick={() => setSort(s)}
                  data-sort={s}
                  title={s === 'position' ? 'Sort by place on the map' : `Sort by ${s}`}
                >
                  {s === 'size' ? 'Size' : s === 'name' ? 'A–Z' : 'Map'}
                </button>
              ))}
            </div>
          </div>
          {sel !== null && (
            <button class="clear-sel" onClick={() => onPick(null)}>
              Clear highlight
            </button>
          )}
          <ul class="cluster-list">
            {shown.map((l: LabelInfo) =>
              editing === l.cluster ? (
                <li key={l.cluster} class="editing" data-cluster={l.cluster}>
                  <LabelForm cluster={l.cluster} onDone={() => setEditing(null)} />
                </li>
              ) : (
              <li
                key={l.cluster}
                class={`${l.cluster === sel ? 'sel' : ''} ${l.cluster === hot ? 'hot' : ''}`}
                data-cluster={l.cluster}
                title={l.description}
                tabIndex={0}
                role="button"
                aria-pressed={l.cluster === sel}
                onClick={() => onPick(l.cluster === sel ? null : l.cluster)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    onPick(l.cluster === sel ? null : l.cluster);
                  }
                }}
              >
                <span class="swatch" style={{ background: colors[l.cluster] }} />
                <span class="name">{l.label || `cluster ${l.cluster}`}</span>
                <span class="num">{l.count.toLocaleString('en-US')}</span>
                {write && (
                  <button
                    class="icon edit"
                    data-write="label"
                    data-testid="edit-label"
                    title="Rename this cluster or describe it"
                    aria-label={`Rename cluster ${l.cluster}`}
                    onClick={(e) => {
                      e.stopPropagation();
                      setEditing(l.cluster);
                    }}
                  >
                    ✎
                  </button>
                )}
                <span class="bar" style={{ width: `${(100 * Math.min(l.count, max)) / max}%`, background: colors[l.cluster] }} />
              </li>
              ),
            )}
          </ul>
        </>
      )}
    </aside>
  );
}
