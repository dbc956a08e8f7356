import { useEffect, useRef } from 'preact/hooks';
import { effect } from '@preact/signals';
import { Explorer } from '../map/explorer';
import type { View } from '../map/viewport';
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
import { startSets } from '../sets';
import { RowsBar } from './RowsBar';
import { Table } from './Table';
import { EditsBar } from './Curation';
import { SITE, siteDataset } from '../site';

/** The address of the page with a hash: the explore path on a server; a static site keeps its own. */
const pageUrl = (ds: string, scope: string, hash: string) => (SITE ? location.pathname + location.search : explorePath(ds, scope)) + hash;

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
    S.filters.value = h.filters;
    S.search.value = h.search;
    S.shapes.value = h.shapes;
    S.edits.value = [];
    const stopSets = startSets(ds, () => scopeRef.current);
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
    (SITE ? siteDataset() : getJSON<DatasetDetail>(`/api/datasets/${enc(ds)}`)).then(
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
          filters: S.filters.value,
          search: S.search.value,
          shapes: S.shapes.value,
        });
        const url = pageUrl(ds, scopeRef.current, hash);
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
      S.filters.value;
      S.search.value;
      S.shapes.value;
      sync();
    });
    const onPop = () => {
      const h2 = readHash();
      if (h2.view) ex.setView(h2.view);
      const m = SITE ? null : location.pathname.match(/\/explore\/([^/]+)\/?$/);
      const s = m ? decodeURIComponent(m[1]) : null;
      if (s && s !== scopeRef.current) {
        scopeRef.current = s;
        ex.switchTo(s, loadScope);
      }
    };
    addEventListener('popstate', onPop);
    addEventListener('hashchange', onPop);
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || t.isContentEditable;
      if (e.key === 'Escape') {
        const menus = document.querySelectorAll<HTMLDetailsElement>('details.menu[open]');
        if (menus.length) {
          menus.forEach((m) => (m.open = false));
          return;
        }
        if (typing) return;
        if (S.pinned.value !== null) S.pinned.value = null;
        else if (S.shapes.value.length) S.shapes.value = [];
        else if (S.selectedCluster.value !== null) S.selectedCluster.value = null;
      } else if (!typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        const tools: Record<string, S.Tool> = { h: 'pan', b: 'box', l: 'lasso' };
        const tl = tools[e.key.toLowerCase()];
        if (tl) S.tool.value = tl;
      }
    };
    addEventListener('keydown', onKey);
    // A click elsewhere closes the open menus.
    const onDown = (e: MouseEvent) => {
      document.querySelectorAll<HTMLDetailsElement>('details.menu[open]').forEach((m) => {
        if (!m.contains(e.target as Node)) m.open = false;
      });
    };
    document.addEventListener('mousedown', onDown);
    return () => {
      document.removeEventListener('mousedown', onDown);
      stop();
      stopSets();
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
    if (!ex || s === scopeRef.current || SITE) return;
    scopeRef.current = s;
    document.title = `${s} · ${ds} · latentscope`;
    history.pushState(null, '', explorePath(ds, s) + location.hash);
    ex.switchTo(s, loadScope);
  };

  S.lookups.switchScope = switchScope;

  // A passing message.
  useEffect(() => {
    if (!S.toast.value) return;
    const t = window.setTimeout(() => (S.toast.value = null), 4000);
    return () => clearTimeout(t);
  }, [S.toast.value]);

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
        <div class={`main ${S.focus.value ? 'with-table' : ''} ${S.tableOpen.value ? '' : 'table-closed'}`}>
        <RowsBar ds={ds} />
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
            <span class="hint">
              {S.tool.value === 'pan' ? 'Scroll to zoom · drag to pan · click a point for details' : 'Drag to select · shift adds · Esc clears'}
            </span>
            {S.selection.value && (
              <span class="count" data-testid="selection-count">
                {S.selection.value.length.toLocaleString('en-US')} selected
              </span>
            )}
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
          <EditsBar ds={ds} scope={S.scopeJson.value?.scope.id ?? scopeRef.current} />
          {S.toast.value && (
            <div class="toast" role="status" data-testid="toast">
              {S.toast.value}
            </div>
          )}
        </div>
        <Table ds={ds} scope={S.scopeJson.value?.scope.id ?? scopeRef.current} />
        </div>
      </div>
    </div>
  );
}
