import { useEffect, useRef } from 'preact/hooks';
import { effect } from '@preact/signals';
import { Explorer, type View } from '../map/explorer';
import { loadScope } from '../map/data';
import { takeFirstLoad } from '../boot';
import { getJSON, enc, RowCache, type DatasetDetail } from '../api';
import { explorePath, readHash, writeHash } from '../route';
import * as S from '../store';
import { TopBar } from './TopBar';
import { ClusterPanel } from './ClusterPanel';
import { HoverCard } from './HoverCard';
import { DetailPanel } from './DetailPanel';
import { Legend } from './Legend';
import { ls } from '../hook';

export function Explore({ ds, initialScope }: { ds: string; initialScope: string }) {
  const mapRef = useRef<HTMLDivElement>(null);
  const exRef = useRef<Explorer | null>(null);
  const rowsRef = useRef<RowCache>(new RowCache(ds));
  const scopeRef = useRef(initialScope);

  useEffect(() => {
    const h = readHash();
    S.selectedCluster.value = h.cluster;
    S.pinned.value = h.row;
    if (h.color) S.colorBy.value = h.color;
    document.title = `${initialScope} · ${ds} · latentscope`;
    ls.dataset = ds;
    let ex: Explorer;
    try {
      ex = new Explorer(mapRef.current!, h.view);
    } catch (e) {
      S.errorText.value = String((e as Error).message ?? e);
      return;
    }
    exRef.current = ex;
    ex.prefetcher = loadScope;
    ex.show(takeFirstLoad(ds, initialScope));
    getJSON<DatasetDetail>(`/api/datasets/${enc(ds)}`).then(
      (d) => (S.dataset.value = d),
      () => {},
    );

    // The address follows the view and the selection.
    let timer = 0;
    let lastView: View | null = h.view;
    const sync = () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => {
        const hash = writeHash({
          view: lastView,
          cluster: S.selectedCluster.value,
          row: S.pinned.value,
          color: S.colorBy.value,
        });
        const url = explorePath(ds, scopeRef.current) + hash;
        if (url !== location.pathname + location.hash) history.replaceState(null, '', url);
      }, 200);
    };
    ex.onView = (v) => {
      lastView = v;
      sync();
    };
    const stop = effect(() => {
      S.selectedCluster.value;
      S.pinned.value;
      S.colorBy.value;
      sync();
    });
    const onPop = () => {
      const h2 = readHash();
      if (h2.view) ex.setView(h2.view);
      const m = location.pathname.match(/\/explore\/([^/]+)\/?$/);
      const s = m ? decodeURIComponent(m[1]) : null;
      if (s && s !== scopeRef.current) {
        scopeRef.current = s;
        ex.switchTo(s, loadScope);
      }
    };
    addEventListener('popstate', onPop);
    addEventListener('hashchange', onPop);
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        if (S.pinned.value !== null) S.pinned.value = null;
        else if (S.selectedCluster.value !== null) S.selectedCluster.value = null;
      }
    };
    addEventListener('keydown', onKey);
    return () => {
      stop();
      clearTimeout(timer);
      removeEventListener('popstate', onPop);
      removeEventListener('hashchange', onPop);
      removeEventListener('keydown', onKey);
      ex.destroy();
      exRef.current = null;
    };
  }, [ds, initialScope]);

  const switchScope = (s: string) => {
    const ex = exRef.current;
    if (!ex || s === scopeRef.current) return;
    scopeRef.current = s;
    document.title = `${s} · ${ds} · latentscope`;
    history.pushState(null, '', explorePath(ds, s) + location.hash);
    ex.switchTo(s, loadScope);
  };

  const zoomToCluster = (c: number | null) => {
    S.selectedCluster.value = c;
    if (c !== null) exRef.current?.zoomToCluster(c);
  };

  const p = S.progress.value;
  return (
    <div class="explore">
      <TopBar ds={ds} scope={scopeRef.current} onScope={switchScope} />
      <div class="stage">
        <ClusterPanel onPick={zoomToCluster} />
        <div class="map-wrap">
          <div class="map" ref={mapRef} />
          {p.total > 0 && p.loaded < p.total && (
            <div class="load-bar" title="Loading points">
              <div style={{ width: `${(100 * p.loaded) / p.total}%` }} />
            </div>
          )}
          {p.loaded === 0 && !S.errorText.value && (
            <div class="map-wait">{p.total ? `Loading ${p.total.toLocaleString('en-US')} points…` : 'Loading the map…'}</div>
          )}
          <HoverCard rows={rowsRef.current} />
          <Legend />
          <div class="map-foot">
            <span class="hint">Scroll to zoom · drag to pan · click a point for details</span>
            <span class="count" data-testid="drawn-count">
              {S.drawnCount.value.toLocaleString('en-US')} of {p.total.toLocaleString('en-US')} points shown
            </span>
          </div>
          {S.errorText.value && (
            <div class="error-banner" role="alert">
              {S.errorText.value}
              <button class="icon" onClick={() => (S.errorText.value = null)} aria-label="Dismiss">
                ×
              </button>
            </div>
          )}
          <DetailPanel rows={rowsRef.current} />
        </div>
      </div>
    </div>
  );
}
