// The compare pages:
//   /datasets/{ds}/compare/umaps?left=umap-001&right=umap-002
//     two layouts of the same rows side by side (the right one aligned to
//     the left by Procrustes), linked zoom, hover and selection, coloured by
//     how far each row moved or by its place in the left layout; and a
//     transition view that animates one layout into the other.
//   /datasets/{ds}/compare/clusters?left=cluster-001&right=cluster-002
//     ARI, NMI, the heat map of the overlap between their clusters, and the
//     rows that changed cluster on the map.
// Both read only: they work on a read-only server.
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { RowCache, type Row } from '../api';
import { comparePath, explorePath, navigate, type CompareWhat } from '../route';
import { badges, title } from '../runs';
import { datasetFull, errText, type Artifact, type DatasetFull } from '../setupApi';
import { changedRows, loadClusterComparison, loadUmapPair, rowClusters, scopeOf, type ClusterComparison, type RowClusters, type UmapPair } from '../compare';
import { drawOrder, FrameClock, Pane, type PaneTool } from '../map/pane';
import { categorical, css, GREY_DARK, GREY_LIGHT, oklch, ramp, type RGB } from '../map/palette';
import type { View } from '../map/viewport';
import { ls } from '../hook';
import * as S from '../store';
import { Logo } from './Logo';
import { Value } from './fields';

const fmtN = (n: number) => n.toLocaleString('en-US');
/** ARI and NMI as shown: three decimals. */
export const fmt3 = (x: number) => x.toFixed(3);

const KIND: Record<CompareWhat, 'umap' | 'cluster'> = { umaps: 'umap', clusters: 'cluster' };

function runsOfKind(d: DatasetFull, what: CompareWhat): Artifact[] {
  return d.artifacts.filter((a) => a.kind === KIND[what] && a.state === 'finished').sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** A run as a picker shows it: its name and a few parameters or counts. */
function runText(a: Artifact): string {
  const r = a.record ?? {};
  const bits: string[] = [];
  if (a.kind === 'cluster') {
    if (typeof r.n_clusters === 'number') bits.push(`${r.n_clusters} clusters`);
    if (typeof r.umap_id === 'string') bits.push(`on ${r.umap_id}`);
  } else bits.push(...badges(a).filter((b) => (b.k !== 'method' || b.v !== 'umap') && b.k !== 'min_dist').map((b) => `${b.k} ${b.v}`));
  const t = title(a);
  return [t === a.id ? a.id : `${t} (${a.id})`, ...bits].join(' · ');
}

/** 0.5–99.5 % quantile box of interleaved points (several sets), for the start view. */
function quantileBox(...sets: Float32Array[]): [number, number, number, number] {
  const xs: number[] = [], ys: number[] = [];
  for (const s of sets) {
    const n = s.length / 2;
    const step = Math.max(1, Math.floor(n / 20000));
    for (let i = 0; i < n; i += step) {
      xs.push(s[2 * i]);
      ys.push(s[2 * i + 1]);
    }
  }
  if (!xs.length) return [-1, -1, 1, 1];
  xs.sort((a, b) => a - b);
  ys.sort((a, b) => a - b);
  const q = (a: number[], f: number) => a[Math.min(a.length - 1, Math.max(0, Math.round(f * (a.length - 1))))];
  return [q(xs, 0.005), q(ys, 0.005), q(xs, 0.995), q(ys, 0.995)];
}

function quantile(v: Float32Array, f: number): number {
  const step = Math.max(1, Math.floor(v.length / 20000));
  const s: number[] = [];
  for (let i = 0; i < v.length; i += step) s.push(v[i]);
  s.sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.round(f * (s.length - 1)))] : 0;
}

// ---- the page ------------------------------------------------------------------

export function ComparePage({ ds, what, left, right }: { ds: string; what: CompareWhat; left: string | null; right: string | null }) {
  const [detail, setDetail] = useState<DatasetFull | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    datasetFull(ds).then(setDetail, (e) => setErr(errText(e)));
  }, [ds]);
  useEffect(() => {
    document.title = `Compare ${what === 'umaps' ? 'layouts' : 'clusterings'} · ${ds} · latentscope`;
  }, [ds, what]);
  const runs = detail ? runsOfKind(detail, what) : [];
  const has = (id: string | null) => !!id && runs.some((a) => a.id === id);
  const L = has(left) ? left! : (runs[0]?.id ?? null);
  const R = has(right) ? right! : (runs.find((a) => a.id !== L)?.id ?? L);
  // The address names both runs.
  useEffect(() => {
    if (!detail || !L || !R || (L === left && R === right)) return;
    history.replaceState(null, '', comparePath(ds, what, L, R) + location.hash);
  }, [detail, L, R]);
  const choose = (l: string | null, r: string | null) => navigate(comparePath(ds, what, l, r));
  const bad = detail && ((left && !has(left)) || (right && !has(right)));
  return (
    <div class="explore compare" data-testid={`compare-${what}`} data-dataset={ds}>
      <header class="topbar">
        <a class="brand" href="/" title="All datasets">
          <Logo /> latentscope
        </a>
        <span class="crumb" title="Dataset">
          {ds}
        </span>
        <div class="seg compare-kind" role="group" aria-label="What to compare">
          <a class={what === 'umaps' ? 'on' : ''} href={comparePath(ds, 'umaps')} data-testid="to-umaps">
            Layouts
          </a>
          <a class={what === 'clusters' ? 'on' : ''} href={comparePath(ds, 'clusters')} data-testid="to-clusters">
            Clusterings
          </a>
        </div>
        {detail && L && R && (
          <>
            <RunPicker label="Left" testid="pick-left" runs={runs} value={L} onPick={(id) => choose(id, R)} />
            <button class="icon swap" title="Swap left and right" aria-label="Swap left and right" data-testid="swap" onClick={() => choose(R, L)}>
              ⇄
            </button>
            <RunPicker label="Right" testid="pick-right" runs={runs} value={R} onPick={(id) => choose(L, id)} />
          </>
        )}
        <span class="spacer" />
        {detail && L && <ScopeLink ds={ds} detail={detail} what={what} run={L} />}
        {S.versionInfo.value?.read_only && (
          <span class="badge" data-testid="read-only" title="This server shows data but changes nothing">
            read-only
          </span>
        )}
      </header>
      {err && <p class="page-note error">Could not open {ds}: {err}</p>}
      {!detail && !err && <p class="page-note muted">Loading…</p>}
      {bad && (
        <p class="page-note error" data-testid="compare-missing">
          {[left, right].filter((x) => x && !has(x)).join(' and ')}: no such {KIND[what]} in {ds}; showing {L} and {R}.
        </p>
      )}
      {detail && runs.length < 2 && (
        <p class="page-note" data-testid="compare-one">
          {ds} has {runs.length ? 'one' : 'no'} {what === 'umaps' ? 'layout' : 'clustering'}: make another (<code>latentscope {KIND[what]}</code>, or the setup page) to compare two.
        </p>
      )}
      {detail && L && R && what === 'umaps' && <CompareUmaps key={`${L}|${R}`} ds={ds} detail={detail} left={L} right={R} />}
      {detail && L && R && what === 'clusters' && <CompareClusters key={`${L}|${R}`} ds={ds} detail={detail} left={L} right={R} />}
    </div>
  );
}

/** A link to the map of a scope made with the left run, if one was. */
/** A labelled choice of one of the runs compared (left or right). */
function RunPicker({ label, testid, runs, value, onPick }: { label: string; testid: string; runs: Artifact[]; value: string; onPick: (id: string) => void }) {
  return (
    <label class="ctl">
      <span>{label}</span>
      <select data-testid={testid} value={value} onChange={(e) => onPick((e.target as HTMLSelectElement).value)}>
        {runs.map((a) => (
          <option value={a.id} key={a.id}>
            {runText(a)}
          </option>
        ))}
      </select>
    </label>
  );
}

function ScopeLink({ ds, detail, what, run }: { ds: string; detail: DatasetFull; what: CompareWhat; run: string }) {
  const key = what === 'umaps' ? 'umap_id' : 'cluster_id';
  const s = detail.artifacts.find((a) => a.kind === 'scope' && a.state === 'finished' && a.record?.[key] === run);
  if (!s) return null;
  return (
    <a class="nav-link" href={explorePath(ds, s.id)} title={`The map of ${s.id}, made with ${run}`} data-testid="explore-scope">
      Map of {s.id} →
    </a>
  );
}

// ---- shared parts ----------------------------------------------------------------

interface Hover {
  row: number;
  pane: string;
  x: number;
  y: number;
}

function Card({ hover, rows, textCol, children }: { hover: Hover; rows: RowCache; textCol: string; children?: ComponentChildren }) {
  const [row, setRow] = useState<Row | null>(null);
  useEffect(() => {
    const hit = rows.peek(hover.row);
    if (hit) return void setRow(hit);
    const t = window.setTimeout(() => rows.get(hover.row).then((r) => setRow(r), () => {}), 30);
    return () => clearTimeout(t);
  }, [hover.row]);
  const r = row && row.ls_index === hover.row ? row : null;
  return (
    <div
      class="hover-card"
      data-testid="compare-hover-card"
      data-row={hover.row}
      style={{ left: `min(${hover.x + 16}px, calc(100% - 380px))`, top: `min(${hover.y + 16}px, calc(100% - 200px))` }}
    >
      {children}
      <div class="hover-text">{r ? <Value v={r[textCol]} /> : <span class="muted">…</span>}</div>
      <div class="muted small">row {fmtN(hover.row)}</div>
    </div>
  );
}

/** One pane's DOM: a head, the map surface (made by the Pane), a foot. */
function PaneBox({ id, head, boxRef, children }: { id: string; head: ComponentChildren; boxRef: { current: HTMLDivElement | null }; children?: ComponentChildren }) {
  return (
    <div class="pane-col" data-testid={`pane-${id}`}>
      <div class="pane-head">{head}</div>
      <div class="pane-box" ref={boxRef}>
        {children}
      </div>
    </div>
  );
}

function ToolSeg({ tool, setTool }: { tool: PaneTool; setTool: (t: PaneTool) => void }) {
  const tools: [PaneTool, string, string][] = [
    ['pan', 'Pan', 'Drag to pan (H)'],
    ['box', 'Box', 'Drag a box to select rows (B); shift adds'],
    ['lasso', 'Lasso', 'Draw around rows to select them (L); shift adds'],
  ];
  return (
    <div class="seg tools" role="group" aria-label="Map tool">
      {tools.map(([t, label, tip]) => (
        <button key={t} class={tool === t ? 'on' : ''} data-tool={t} title={tip} aria-pressed={tool === t} onClick={() => setTool(t)}>
          {label}
        </button>
      ))}
    </div>
  );
}

/** Keys: H, B, L pick the tool; Escape clears. */
function useKeys(setTool: (t: PaneTool) => void, clear: () => void) {
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'Escape') clear();
      const tl = ({ h: 'pan', b: 'box', l: 'lasso' } as Record<string, PaneTool>)[e.key.toLowerCase()];
      if (tl) setTool(tl);
    };
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  }, []);
}

function useDark() {
  return S.dark.value;
}

// ---- two layouts -------------------------------------------------------------------

type UmapColor = 'moved' | 'place';
type UmapView = 'side' | 'transition';

/** Per-row colours of a pair of layouts. */
function umapColors(d: UmapPair, mode: UmapColor, dark: boolean): { rgba: Uint8Array; scale: number } {
  const n = d.n;
  const rgba = new Uint8Array(4 * n);
  if (mode === 'moved') {
    const scale = Math.max(1e-9, quantile(d.moved, 0.98));
    const lut = ramp(dark);
    for (let r = 0; r < n; r++) {
      const c = lut[Math.max(0, Math.min(255, Math.round((d.moved[r] / scale) * 255)))];
      rgba.set(c, 4 * r);
      rgba[4 * r + 3] = 255;
    }
    return { rgba, scale };
  }
  // The place in the left layout: hue by angle round the centre, chroma by distance from it.
  let cx = 0, cy = 0;
  for (let r = 0; r < n; r++) {
    cx += d.left[2 * r];
    cy += d.left[2 * r + 1];
  }
  cx /= Math.max(1, n);
  cy /= Math.max(1, n);
  const rad = new Float32Array(n);
  for (let r = 0; r < n; r++) rad[r] = Math.hypot(d.left[2 * r] - cx, d.left[2 * r + 1] - cy);
  const R = Math.max(1e-9, quantile(rad, 0.98));
  for (let r = 0; r < n; r++) {
    const h = (Math.atan2(d.left[2 * r + 1] - cy, d.left[2 * r] - cx) * 180) / Math.PI + 180;
    const c = oklch(dark ? 0.74 : 0.64, 0.03 + 0.14 * Math.min(1, rad[r] / R), h);
    rgba.set(c, 4 * r);
    rgba[4 * r + 3] = 255;
  }
  return { rgba, scale: R };
}

function CompareUmaps({ ds, detail, left, right }: { ds: string; detail: DatasetFull; left: string; right: string }) {
  const [data, setData] = useState<UmapPair | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [view, setView] = useState<UmapView>('side');
  const [color, setColor] = useState<UmapColor>('moved');
  const [tool, setTool] = useState<PaneTool>('pan');
  const [size, setSize] = useState(2);
  const [hover, setHover] = useState<Hover | null>(null);
  const [pin, setPin] = useState<number | null>(null);
  const [sel, setSel] = useState<{ mask: Uint8Array; count: number } | null>(null);
  const [playing, setPlaying] = useState(true);
  const [t, setT] = useState(0);
  const [drawn, setDrawn] = useState<Record<string, number>>({});
  const dark = useDark();
  const rows = useMemo(() => new RowCache(ds), [ds]);
  const textCol = detail.meta.text_column;
  const leftRef = useRef<HTMLDivElement>(null);
  const rightRef = useRef<HTMLDivElement>(null);
  const trRef = useRef<HTMLDivElement>(null);
  const panes = useRef<Record<string, Pane>>({});
  const viewRef = useRef<View | null>(null);
  const playRef = useRef(playing);
  playRef.current = playing;

  useEffect(() => {
    const ctl = new AbortController();
    const t0 = performance.now();
    loadUmapPair(ds, left, right, ctl.signal).then(
      (d) => {
        ls.compareLoadMs = Math.round(performance.now() - t0);
        setData(d);
      },
      (e) => e?.name !== 'AbortError' && setErr(errText(e)),
    );
    return () => ctl.abort();
  }, [ds, left, right]);

  const order = useMemo(() => (data ? drawOrder(data.n) : null), [data]);
  const byOrder = (xy: Float32Array) => {
    const o = order!.order;
    const out = new Float32Array(2 * o.length);
    for (let p = 0; p < o.length; p++) {
      out[2 * p] = xy[2 * o[p]];
      out[2 * p + 1] = xy[2 * o[p] + 1];
    }
    return out;
  };
  const colors = useMemo(() => (data ? umapColors(data, color, dark) : null), [data, color, dark]);

  // The panes: two side by side, or one for the transition.
  useEffect(() => {
    if (!data || !order) return;
    const clock = new FrameClock();
    const made: Record<string, Pane> = {};
    const lxy = byOrder(data.left), rxy = byOrder(data.right);
    const make = (id: string, box: HTMLDivElement | null, xy: Float32Array, label: string) => {
      if (!box) return;
      const p = new Pane(box, clock, label);
      p.el.setAttribute('data-testid', `map-${id}`);
      p.setPoints(order.order, order.posOf, xy);
      made[id] = p;
    };
    if (view === 'side') {
      make('left', leftRef.current, lxy, left);
      make('right', rightRef.current, rxy, `${right} aligned to ${left}`);
    } else {
      make('transition', trRef.current, rxy, `${left} turning into ${right}`);
      made.transition?.setFrom(lxy);
      made.transition?.setT(0);
    }
    const all = Object.values(made);
    clock.configure(!!all[0]?.software);
    panes.current = made;
    const v0 = viewRef.current;
    for (const p of all) {
      if (v0) p.setView(v0, true);
      else p.fit(quantileBox(data.left, data.right));
      p.onView = (v) => {
        viewRef.current = v;
        for (const q of all) if (q !== p) q.setView(v, true);
      };
      p.onHover = (row, x, y) => {
        if (p.from && playRef.current) return;
        setHover(row === null ? null : { row, pane: Object.keys(made).find((k) => made[k] === p)!, x, y });
      };
      p.onClick = (row) => setPin(row);
      p.onShape = (shape, add) => {
        for (const q of all) q.shapes = add ? q.shapes : [];
        p.shapes = [...p.shapes, shape];
        setSel((cur) => {
          const m = add && cur ? cur.mask.slice() : new Uint8Array(data.n);
          p.rowsIn(shape, data.n, m);
          let count = 0;
          for (let i = 0; i < m.length; i++) count += m[i];
          return { mask: m, count };
        });
      };
      p.onFrame = () => {
        const sum = all.reduce((a, q) => a + q.drawn, 0);
        ls.drawn = sum;
        ls.frameMs = clock.frameMs;
        ls.mode = made.transition && playRef.current ? 'transition' : all.some((q) => q.mode === 'sample') ? 'sample' : 'still';
        if (ls.firstPaintMs === null && all.every((q) => q.firstPaint !== null)) ls.firstPaintMs = performance.now();
      };
    }
    if (!viewRef.current) viewRef.current = all[0]?.view() ?? null;
    ls.total = data.n;
    ls.firstPaintMs = null;
    ls.page = 'compare-umaps';
    Object.assign(ls, {
      compare: {
        kind: view,
        panes: () => Object.keys(made),
        project: (id: string, row: number) => made[id]?.project(row) ?? null,
        coords: (id: string, row: number) => made[id]?.coords(row) ?? null,
        hovered: () => Object.fromEntries(Object.entries(made).map(([k, q]) => [k, q.hoverRow])),
        drawn: () => Object.fromEntries(Object.entries(made).map(([k, q]) => [k, q.drawn])),
        countVisible: (id: string) => made[id]?.countVisible() ?? 0,
        setView: (v: View) => {
          viewRef.current = v;
          for (const q of all) q.setView(v, true);
        },
        view: () => all[0]?.view(),
        viewOf: (id: string) => made[id]?.view(),
        setBudget: (b: number) => {
          clock.fixed = b > 0;
          if (b > 0) clock.budget = b;
        },
        budget: () => clock.budget,
        selectionCount: () => selRef.current,
        transition: () => ({ t: made.transition?.tr ?? null, playing: playRef.current }),
        meanMoved: data.mean,
      },
    });
    const tick = window.setInterval(() => setDrawn(Object.fromEntries(Object.entries(made).map(([k, q]) => [k, q.drawn]))), 250);
    return () => {
      clearInterval(tick);
      for (const p of all) p.destroy();
      panes.current = {};
    };
  }, [data, order, view]);

  const selRef = useRef(0);
  selRef.current = sel?.count ?? 0;

  // Colours and the selection.
  useEffect(() => {
    if (!colors) return;
    for (const p of Object.values(panes.current)) {
      p.dark = dark;
      p.setRowColors(colors.rgba, sel?.mask ?? null);
    }
  }, [colors, sel, view, data, dark]);
  useEffect(() => {
    for (const p of Object.values(panes.current)) {
      p.pointSize = size;
      p.invalidate();
    }
  }, [size, view, data]);
  useEffect(() => {
    for (const p of Object.values(panes.current)) p.mark(hover?.row ?? null, pin);
  }, [hover, pin, view, data]);
  useEffect(() => {
    for (const p of Object.values(panes.current)) p.setTool(tool);
  }, [tool, view, data]);
  useKeys(setTool, () => {
    setSel(null);
    setPin(null);
    for (const p of Object.values(panes.current)) p.shapes = [];
  });
  useEffect(() => {
    if (!sel) for (const p of Object.values(panes.current)) p.shapes = [];
  }, [sel]);

  // The transition: there and back, with a pause at each end, until paused.
  useEffect(() => {
    if (view !== 'transition' || !playing || !data) return;
    const p = panes.current.transition;
    if (!p) return;
    const GO = 1800, HOLD = 700;
    const start = performance.now() - (p.tr * GO);
    let raf = 0;
    const step = (now: number) => {
      const u = ((now - start) % (2 * (GO + HOLD))) / 1;
      let x: number;
      if (u < GO) x = u / GO;
      else if (u < GO + HOLD) x = 1;
      else if (u < 2 * GO + HOLD) x = 1 - (u - GO - HOLD) / GO;
      else x = 0;
      const e = x < 0.5 ? 4 * x * x * x : 1 - (-2 * x + 2) ** 3 / 2;
      p.setT(e);
      setT(e);
      raf = requestAnimationFrame(step);
    };
    raf = requestAnimationFrame(step);
    setHover(null);
    return () => {
      cancelAnimationFrame(raf);
      // A last frame, still: the mode says so.
      p.invalidate();
    };
  }, [view, playing, data]);

  const head = (id: string) => {
    const a = detail.artifacts.find((x) => x.id === id);
    return (
      <>
        <strong>{a ? title(a) : id}</strong>
        {a && title(a) !== id && <span class="muted small">{id}</span>}
        {a && (
          <span class="badges">
            {badges(a).map((b) => (
              <span class="pbadge" key={b.k}>
                <span class="k">{b.k}</span> {b.v}
              </span>
            ))}
          </span>
        )}
      </>
    );
  };
  const card = (id: string) =>
    hover && hover.pane === id && data ? (
      <Card hover={hover} rows={rows} textCol={textCol}>
        <div class="chip">
          moved <strong data-testid="card-moved">{data.moved[hover.row].toFixed(3)}</strong>
        </div>
      </Card>
    ) : null;
  const foot = (id: string) => (
    <div class="map-foot">
      <span class="count" data-testid={`drawn-${id}`}>
        {fmtN(drawn[id] ?? 0)} of {fmtN(data?.n ?? 0)} points shown
      </span>
    </div>
  );
  const legend =
    colors &&
    (color === 'moved' ? (
      <div class="legend" data-testid="compare-legend">
        <div class="legend-title">Distance moved</div>
        <div class="ramp" style={{ background: `linear-gradient(to right, ${[0, 64, 128, 192, 255].map((i) => css(ramp(dark)[i])).join(',')})` }} />
        <div class="ramp-ends">
          <span>0</span>
          <span>≥ {colors.scale.toFixed(2)}</span>
        </div>
        <div class="muted small">after aligning {right} to {left} (shift, scale, rotation, mirror)</div>
      </div>
    ) : (
      <div class="legend" data-testid="compare-legend">
        <div class="legend-title">Place in {left}</div>
        <div class="place-key" />
        <div class="muted small">colour by the point's direction and distance from the centre of {left}</div>
      </div>
    ));

  return (
    <>
      <div class="rowsbar compare-bar">
        <ToolSeg tool={tool} setTool={setTool} />
        <div class="seg views" role="group" aria-label="View">
          <button class={view === 'side' ? 'on' : ''} data-view="side" onClick={() => setView('side')} title="The two layouts side by side, linked">
            Side by side
          </button>
          <button class={view === 'transition' ? 'on' : ''} data-view="transition" onClick={() => setView('transition')} title={`${left} turning into ${right}`}>
            Transition
          </button>
        </div>
        <label class="ctl">
          <span>Colour</span>
          <select data-testid="compare-color" value={color} onChange={(e) => setColor((e.target as HTMLSelectElement).value as UmapColor)}>
            <option value="moved">distance moved</option>
            <option value="place">place in {left}</option>
          </select>
        </label>
        <label class="ctl slider" title="Point size">
          <span>Size</span>
          <input type="range" min="0.5" max="8" step="0.5" value={size} onInput={(e) => setSize(+(e.target as HTMLInputElement).value)} />
        </label>
        {view === 'transition' && (
          <div class="transition-ctl">
            <button class="btn" data-testid="transition-play" onClick={() => setPlaying(!playing)} aria-pressed={playing}>
              {playing ? 'Pause' : 'Play'}
            </button>
            <span class="muted small">{left}</span>
            <input
              type="range"
              min="0"
              max="1000"
              value={Math.round(t * 1000)}
              data-testid="transition-t"
              aria-label={`From ${left} (left end) to ${right} (right end)`}
              onInput={(e) => {
                const v = +(e.target as HTMLInputElement).value / 1000;
                setPlaying(false);
                setT(v);
                panes.current.transition?.setT(v);
              }}
            />
            <span class="muted small">{right}</span>
          </div>
        )}
        <span class="spacer" />
        {sel && (
          <span class="fchip sel" data-chip="selection" data-testid="compare-selection">
            {fmtN(sel.count)} selected
            <button class="x" aria-label="Clear the selection" title="Clear the selection (Esc)" onClick={() => setSel(null)}>
              ×
            </button>
          </span>
        )}
        {data && (
          <span class="muted small stat" data-testid="mean-moved" title="Mean distance a row moved, in the left layout's units (its points span about 2)">
            mean moved <strong>{data.mean.toFixed(3)}</strong> · {fmtN(data.n)} rows
          </span>
        )}
      </div>
      {err && <p class="page-note error">{err}</p>}
      <div class="compare-stage">
        {!data && !err && <div class="map-wait">Loading both layouts…</div>}
        {view === 'side' ? (
          <>
            <PaneBox id="left" head={head(left)} boxRef={leftRef}>
              {card('left')}
              {legend}
              {foot('left')}
            </PaneBox>
            <PaneBox
              id="right"
              head={
                <>
                  {head(right)}
                  <span class="muted small">aligned to {left}</span>
                </>
              }
              boxRef={rightRef}
            >
              {card('right')}
              {foot('right')}
            </PaneBox>
          </>
        ) : (
          <PaneBox
            id="transition"
            head={
              <>
                <strong>
                  {left} → {right}
                </strong>
                <span class="muted small">each row moves from its place in {left} to its place in {right} (aligned)</span>
              </>
            }
            boxRef={trRef}
          >
            {card('transition')}
            {legend}
            {foot('transition')}
          </PaneBox>
        )}
      </div>
    </>
  );
}

// ---- two clusterings ------------------------------------------------------------------

type Pick = { kind: 'cell'; i: number; j: number } | { kind: 'left'; i: number } | { kind: 'right'; j: number };
type ClusterColor = 'changed' | 'left' | 'right';
const CHANGED: RGB = [232, 89, 12];
const KEPT: RGB = [59, 111, 224];

function clusterPalette(k: number, un: number, dark: boolean): RGB[] {
  const named = un >= 0 && un < k ? k - 1 : k;
  const pal = categorical(Math.max(1, named), dark);
  const out: RGB[] = [];
  for (let c = 0, i = 0; c < k; c++) out.push(c === un ? (dark ? GREY_DARK : GREY_LIGHT) : pal[i++ % pal.length]);
  return out;
}

interface Order {
  /** Positions of overlap.left in display order (rows of the heat map). */
  rows: number[];
  /** Positions of overlap.right in display order (columns). */
  cols: number[];
  rowTotal: number[];
  colTotal: number[];
}

/** Left clusters by size (unclustered last); right clusters in the order of the left cluster they overlap most. */
function heatOrder(c: ClusterComparison, unL: number, unR: number): Order {
  const { left, right, counts } = c.overlap;
  const rowTotal = counts.map((r) => r.reduce((a, b) => a + b, 0));
  const colTotal = right.map((_, j) => counts.reduce((a, r) => a + r[j], 0));
  const rows = left.map((_, i) => i).sort((a, b) => (left[a] === unL ? 1 : 0) - (left[b] === unL ? 1 : 0) || rowTotal[b] - rowTotal[a] || a - b);
  const rank = new Map(rows.map((i, k) => [i, k]));
  const key = right.map((_, j) => {
    let best = 0, bc = -1;
    for (const i of rows) {
      if (left[i] === unL) continue;
      if (counts[i][j] > bc) {
        bc = counts[i][j];
        best = i;
      }
    }
    return rank.get(best) ?? 0;
  });
  const cols = right.map((_, j) => j).sort((a, b) => (right[a] === unR ? 1 : 0) - (right[b] === unR ? 1 : 0) || key[a] - key[b] || colTotal[b] - colTotal[a] || a - b);
  return { rows, cols, rowTotal, colTotal };
}

function CompareClusters({ ds, detail, left, right }: { ds: string; detail: DatasetFull; left: string; right: string }) {
  const [cmp, setCmp] = useState<ClusterComparison | null>(null);
  const [L, setL] = useState<RowClusters | null>(null);
  const [R, setR] = useState<RowClusters | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [pick, setPick] = useState<Pick | null>(null);
  const [color, setColor] = useState<ClusterColor>('changed');
  const [hover, setHover] = useState<Hover | null>(null);
  const [pin, setPin] = useState<number | null>(null);
  const [drawn, setDrawn] = useState(0);
  const dark = useDark();
  const rows = useMemo(() => new RowCache(ds), [ds]);
  const textCol = detail.meta.text_column;
  const boxRef = useRef<HTMLDivElement>(null);
  const paneRef = useRef<Pane | null>(null);
  const sl = scopeOf(detail, left);
  const sr = scopeOf(detail, right);

  useEffect(() => {
    loadClusterComparison(ds, left, right).then(setCmp, (e) => setErr(errText(e)));
    const n = detail.meta.length;
    if (sl) rowClusters(ds, sl.id, n).then(setL, (e) => setErr(errText(e)));
    if (sr) rowClusters(ds, sr.id, n).then(setR, (e) => setErr(errText(e)));
    const missing = [!sl && left, !sr && right].filter(Boolean);
    if (missing.length)
      setNote(`No scope uses ${missing.join(' or ')}: the map needs each row's cluster in both, which comes from a scope made with each clustering (latentscope scope …).`);
  }, [ds, left, right]);

  const kL = cmp ? Math.max(...cmp.overlap.left, L?.labels.length ?? 0, 0) + 1 : 0;
  const kR = cmp ? Math.max(...cmp.overlap.right, R?.labels.length ?? 0, 0) + 1 : 0;
  const unL = L?.unclustered ?? (typeof runRecord(detail, left).unclustered_cluster === 'number' ? (runRecord(detail, left).unclustered_cluster as number) : -1);
  const unR = R?.unclustered ?? (typeof runRecord(detail, right).unclustered_cluster === 'number' ? (runRecord(detail, right).unclustered_cluster as number) : -1);
  const palL = useMemo(() => clusterPalette(kL, unL, dark), [kL, unL, dark]);
  const palR = useMemo(() => clusterPalette(kR, unR, dark), [kR, unR, dark]);
  const order = useMemo(() => (cmp ? heatOrder(cmp, unL, unR) : null), [cmp, unL, unR]);
  const labelOf = (side: 'left' | 'right', c: number) => {
    const l = (side === 'left' ? L : R)?.labels[c];
    return l?.label || (c === (side === 'left' ? unL : unR) ? 'Unclustered' : `cluster ${c}`);
  };
  const changed = useMemo(() => (cmp && L && R ? changedRows(cmp, L.cluster, R.cluster) : null), [cmp, L, R]);
  // The rows of the picked cell, left cluster or right cluster.
  const focus = useMemo(() => {
    if (!pick || !cmp || !L || !R) return null;
    const { left: lc, right: rc } = cmp.overlap;
    const m = new Uint8Array(L.cluster.length);
    let count = 0,
      moved = 0;
    for (let r = 0; r < m.length; r++) {
      const ok =
        pick.kind === 'cell'
          ? L.cluster[r] === lc[pick.i] && R.cluster[r] === rc[pick.j]
          : pick.kind === 'left'
            ? L.cluster[r] === lc[pick.i]
            : R.cluster[r] === rc[pick.j];
      if (ok) {
        m[r] = 1;
        count++;
        if (changed?.mask[r]) moved++;
      }
    }
    return { mask: m, count, changed: moved };
  }, [pick, cmp, L, R, changed]);

  // Per-row colours.
  const rgba = useMemo(() => {
    if (!L || !R || !changed) return null;
    const n = L.cluster.length;
    const out = new Uint8Array(4 * n);
    const grey = dark ? GREY_DARK : GREY_LIGHT;
    for (let r = 0; r < n; r++) {
      let c: RGB, a = 255;
      if (L.cluster[r] < 0) {
        out[4 * r + 3] = 0;
        continue;
      }
      if (color === 'changed') {
        // Picked rows that kept their cluster: blue, not grey, so the pick shows.
        c = changed.mask[r] ? CHANGED : focus?.mask[r] ? KEPT : grey;
        a = changed.mask[r] || focus?.mask[r] ? 255 : 110;
      } else {
        const k = color === 'left' ? L.cluster[r] : R.cluster[r];
        const un = color === 'left' ? unL : unR;
        c = (color === 'left' ? palL : palR)[k] ?? grey;
        if (k === un) a = 90;
      }
      out.set(c, 4 * r);
      out[4 * r + 3] = a;
    }
    return out;
  }, [L, R, changed, color, palL, palR, dark, focus]);

  // The map: the left clustering's layout.
  useEffect(() => {
    if (!L || !boxRef.current) return;
    const n = L.cluster.length;
    const { order: o, posOf } = drawOrder(n);
    const xy = new Float32Array(2 * n);
    for (let p = 0; p < n; p++) {
      xy[2 * p] = L.xy[2 * o[p]];
      xy[2 * p + 1] = L.xy[2 * o[p] + 1];
    }
    const clock = new FrameClock();
    const p = new Pane(boxRef.current, clock, `The rows on the layout of ${left}`);
    clock.configure(p.software);
    p.el.setAttribute('data-testid', 'map-clusters');
    p.setPoints(o, posOf, xy);
    p.fit(quantileBox(L.xy));
    p.onHover = (row, x, y) => setHover(row === null ? null : { row, pane: 'map', x, y });
    p.onClick = (row) => setPin(row);
    p.onFrame = () => {
      ls.drawn = p.drawn;
      ls.frameMs = clock.frameMs;
      ls.mode = p.mode;
      if (ls.firstPaintMs === null) ls.firstPaintMs = performance.now();
    };
    paneRef.current = p;
    ls.total = n;
    ls.firstPaintMs = null;
    ls.page = 'compare-clusters';
    const tick = window.setInterval(() => setDrawn(p.drawn), 250);
    return () => {
      clearInterval(tick);
      p.destroy();
      paneRef.current = null;
    };
  }, [L]);
  useEffect(() => {
    const p = paneRef.current;
    if (!p || !rgba) return;
    p.dark = dark;
    p.setRowColors(rgba, focus?.mask ?? null);
  }, [rgba, focus, L, dark]);
  useEffect(() => paneRef.current?.mark(hover?.row ?? null, pin), [hover, pin, L]);
  useKeys(
    () => {},
    () => {
      setPick(null);
      setPin(null);
    },
  );
  useEffect(() => {
    Object.assign(ls, {
      compare: {
        ari: cmp?.ari,
        nmi: cmp?.nmi,
        changed: cmp?.changed,
        changedShown: changed?.count ?? null,
        picked: focus?.count ?? null,
        project: (_id: string, row: number) => paneRef.current?.project(row) ?? null,
        hovered: () => ({ map: paneRef.current?.hoverRow ?? null }),
        isChanged: (row: number) => (changed ? changed.mask[row] === 1 : null),
        setView: (v: View) => paneRef.current?.setView(v, true),
        view: () => paneRef.current?.view(),
        order: () => order,
      },
    });
  }, [cmp, changed, focus, order]);

  const consistent = !changed || !cmp || changed.count === cmp.changed;
  const lostList = useMemo(() => {
    if (!cmp || !order) return [];
    const out: { i: number; lost: number; total: number; best: number; share: number }[] = [];
    cmp.overlap.counts.forEach((row, i) => {
      if (cmp.overlap.left[i] === unL) return;
      let b = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[b]) b = j;
      const total = order.rowTotal[i];
      out.push({ i, lost: total - row[b], total, best: b, share: total ? row[b] / total : 1 });
    });
    return out.sort((a, b) => b.lost - a.lost).slice(0, 6);
  }, [cmp, order, unL]);

  const pickText = (() => {
    if (!pick || !cmp) return null;
    const lc = cmp.overlap.left, rc = cmp.overlap.right;
    if (pick.kind === 'cell') return `${labelOf('left', lc[pick.i])} → ${labelOf('right', rc[pick.j])}`;
    if (pick.kind === 'left') return `${left}: ${labelOf('left', lc[pick.i])}`;
    return `${right}: ${labelOf('right', rc[pick.j])}`;
  })();

  return (
    <>
      <div class="compare-stats" data-testid="compare-stats">
        {cmp ? (
          <>
            {AGREEMENT_SCORES.map((sc) => (
              <StatCard key={sc.key} name={sc.name} title={sc.title} testid={sc.key} value={cmp[sc.key]} note={sc.note}>
                {fmt3(cmp[sc.key])}
              </StatCard>
            ))}
            <StatCard
              name="Changed"
              title="Rows outside the right cluster that overlaps their left cluster most"
              testid="changed"
              value={cmp.changed}
              note={
                <>
                  of {fmtN(cmp.rows)} rows ({((100 * cmp.changed) / Math.max(1, cmp.rows)).toFixed(1)} %)
                </>
              }
            >
              {fmtN(cmp.changed)}
            </StatCard>
            <StatCard
              name="Clusters"
              testid="cluster-counts"
              note={
                <>
                  {left} → {right}, besides unclustered rows
                </>
              }
            >
              {cmp.overlap.left.filter((c) => c !== unL).length} → {cmp.overlap.right.filter((c) => c !== unR).length}
            </StatCard>
          </>
        ) : (
          !err && <span class="muted">Comparing {left} and {right}…</span>
        )}
        {err && <span class="error">{err}</span>}
      </div>
      <div class="compare-stage clusters-stage">
        <section class="heat-col" data-testid="heat-panel">
          <div class="pane-head">
            <strong>Overlap</strong>
            <span class="muted small">
              rows: {left} by size · columns: {right} · shade: share of the row
            </span>
          </div>
          {cmp && order && (
            <Heatmap
              cmp={cmp}
              order={order}
              palL={palL}
              palR={palR}
              labelOf={labelOf}
              left={left}
              right={right}
              pick={pick}
              onPick={(p) => setPick(p)}
              dark={dark}
            />
          )}
          {lostList.length > 0 && cmp && order && (
            <div class="splits">
              <div class="muted small">Clusters of {left} that split most</div>
              <ul>
                {lostList.map((x) => (
                  <li key={x.i}>
                    <button class="link left" data-testid="split" onClick={() => setPick({ kind: 'left', i: x.i })} title="Show these rows on the map">
                      <span class="swatch" style={{ background: css(palL[cmp.overlap.left[x.i]] ?? [128, 128, 128]) }} />
                      <span class="name">{labelOf('left', cmp.overlap.left[x.i])}</span>
                    </button>
                    <span class="muted small">
                      {fmtN(x.total)} rows, {Math.round(100 * x.share)} % in “{labelOf('right', cmp.overlap.right[x.best])}”
                    </span>
                  </li>
                ))}
              </ul>
            </div>
          )}
        </section>
        <div class="pane-col" data-testid="pane-map">
          <div class="pane-head">
            <strong>Rows on the map</strong>
            <span class="muted small">{L ? `the layout of ${left} (${L.scope})` : ''}</span>
            <span class="spacer" />

            <div class="seg" role="group" aria-label="Colour the rows by">
              {(['changed', 'left', 'right'] as ClusterColor[]).map((c) => (
                <button key={c} class={color === c ? 'on' : ''} data-color={c} onClick={() => setColor(c)}>
                  {c === 'changed' ? 'Changed' : c === 'left' ? left : right}
                </button>
              ))}
            </div>
          </div>
          <div class="pane-box" ref={boxRef}>
            {note && <div class="map-note" data-testid="map-note">{note}</div>}
            {pick && focus && (
              <span class="fchip sel pick-chip" data-testid="picked" title="The rows picked in the heat map (Esc clears)">
                {fmtN(focus.count)} rows: {pickText}
                <button class="x" aria-label="Clear" title="Clear (Esc)" onClick={() => setPick(null)}>
                  ×
                </button>
              </span>
            )}
            {!note && !L && !err && <div class="map-wait">Loading the rows…</div>}
            {hover && L && R && cmp && (
              <Card hover={hover} rows={rows} textCol={textCol}>
                <div class="chip">
                  <span class="swatch" style={{ background: css(palL[L.cluster[hover.row]] ?? [128, 128, 128]) }} />
                  {labelOf('left', L.cluster[hover.row])}
                  <span class="muted">→</span>
                  <span class="swatch" style={{ background: css(palR[R.cluster[hover.row]] ?? [128, 128, 128]) }} />
                  {labelOf('right', R.cluster[hover.row])}
                </div>
                {changed?.mask[hover.row] ? <div class="small changed-mark">changed</div> : null}
              </Card>
            )}
            {changed && (
              <div class="legend" data-testid="changed-legend">
                {color === 'changed' ? (
                  <ul>
                    <li>
                      <span class="swatch" style={{ background: css(CHANGED) }} />
                      <span class="name">changed</span>
                      <span class="num" data-testid="changed-shown">
                        {fmtN(changed.count)}
                      </span>
                    </li>
                    <li>
                      <span class="swatch" style={{ background: css(dark ? GREY_DARK : GREY_LIGHT) }} />
                      <span class="name">in their cluster's best match</span>
                      <span class="num">{fmtN(L!.cluster.filter((c) => c >= 0).length - changed.count)}</span>
                    </li>
                    {focus && (
                      <li>
                        <span class="swatch" style={{ background: css(KEPT) }} />
                        <span class="name">picked, in the best match</span>
                        <span class="num">{fmtN(focus.count - focus.changed)}</span>
                      </li>
                    )}
                  </ul>
                ) : (
                  <div class="legend-title">colours: clusters of {color === 'left' ? left : right}</div>
                )}
                {!consistent && (
                  <div class="small error" data-testid="inconsistent">
                    The scopes' clusters differ from {left} and {right} ({fmtN(changed.count)} changed here): a scope was curated.
                  </div>
                )}
              </div>
            )}
            <div class="map-foot">
              <span class="count" data-testid="drawn-map">
                {fmtN(drawn)} points shown
              </span>
            </div>
          </div>
        </div>
      </div>
    </>
  );
}

/** The agreement scores of two clusterings, shown with three decimals. */
const AGREEMENT_SCORES = [
  {
    key: 'ari',
    name: 'ARI',
    title: 'Adjusted Rand index: 1 when both clusterings put the same rows together, about 0 when they agree no more than chance',
    note: 'adjusted Rand index',
  },
  {
    key: 'nmi',
    name: 'NMI',
    title: 'Normalised mutual information (arithmetic mean of the entropies): 1 when one clustering tells the other exactly',
    note: 'normalised mutual information',
  },
] as const;

/** One figure of a comparison: its name, its value (`value` kept in data-value for checks) and a note below. */
function StatCard({
  name,
  title,
  testid,
  value,
  note,
  children,
}: {
  name: string;
  title?: string;
  testid: string;
  value?: number;
  note: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <div class="stat-card" title={title}>
      <span class="k">{name}</span>
      <strong data-testid={testid} data-value={value}>
        {children}
      </strong>
      <span class="muted small">{note}</span>
    </div>
  );
}

function runRecord(d: DatasetFull, id: string): Record<string, unknown> {
  return d.artifacts.find((a) => a.id === id)?.record ?? {};
}

// ---- the heat map ----------------------------------------------------------------------

function Heatmap({
  cmp,
  order,
  palL,
  palR,
  labelOf,
  left,
  right,
  pick,
  onPick,
  dark,
}: {
  cmp: ClusterComparison;
  order: Order;
  palL: RGB[];
  palR: RGB[];
  labelOf: (side: 'left' | 'right', c: number) => string;
  left: string;
  right: string;
  pick: Pick | null;
  onPick: (p: Pick | null) => void;
  dark: boolean;
}) {
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [size, setSize] = useState({ w: 400, h: 400 });
  const [hot, setHot] = useState<{ i: number | null; j: number | null; x: number; y: number } | null>(null);
  const nr = order.rows.length, nc = order.cols.length;
  const STRIP = 8;
  // Cells: as big as fit, square.
  const cell = Math.max(1, Math.min((size.w - STRIP - 2) / nc, (size.h - STRIP - 2) / nr));
  const gw = cell * nc, gh = cell * nr;
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    // The content box (the padding is the margin round the grid).
    const measure = () => {
      const cs = getComputedStyle(el);
      const px = (v: string) => parseFloat(v) || 0;
      setSize({
        w: el.clientWidth - px(cs.paddingLeft) - px(cs.paddingRight),
        h: el.clientHeight - px(cs.paddingTop) - px(cs.paddingBottom),
      });
    };
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    measure();
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const dpr = Math.min(2, devicePixelRatio || 1);
    const W = Math.ceil(STRIP + gw + 1), H = Math.ceil(STRIP + gh + 1);
    c.width = W * dpr;
    c.height = H * dpr;
    c.style.width = `${W}px`;
    c.style.height = `${H}px`;
    const g = c.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const lo: RGB = dark ? [27, 28, 33] : [255, 255, 255];
    const hi: RGB = dark ? [157, 184, 255] : [28, 63, 148];
    const { counts, left: lc, right: rc } = cmp.overlap;
    g.fillStyle = dark ? '#23252b' : '#f3f3f1';
    g.fillRect(STRIP, STRIP, gw, gh);
    for (let a = 0; a < nr; a++) {
      const i = order.rows[a];
      const tot = order.rowTotal[i] || 1;
      g.fillStyle = css(palL[lc[i]] ?? [128, 128, 128]);
      g.fillRect(0, STRIP + a * cell, STRIP - 2, Math.max(1, cell - (cell > 4 ? 1 : 0)));
      for (let b = 0; b < nc; b++) {
        const j = order.cols[b];
        const v = counts[i][j];
        if (!v) continue;
        const s = Math.sqrt(v / tot);
        g.fillStyle = css([0, 1, 2].map((k) => Math.round(lo[k] + (hi[k] - lo[k]) * s)) as RGB);
        const gap = cell > 5 ? 0.5 : 0;
        g.fillRect(STRIP + b * cell + gap, STRIP + a * cell + gap, cell - 2 * gap, cell - 2 * gap);
      }
    }
    for (let b = 0; b < nc; b++) {
      g.fillStyle = css(palR[rc[order.cols[b]]] ?? [128, 128, 128]);
      g.fillRect(STRIP + b * cell, 0, Math.max(1, cell - (cell > 4 ? 1 : 0)), STRIP - 2);
    }
    // The pick: its row, column or cell outlined.
    const outline = (x: number, y: number, w: number, h: number, col: string) => {
      g.strokeStyle = col;
      g.lineWidth = 1.5;
      g.strokeRect(x + 0.75, y + 0.75, Math.max(1, w - 1.5), Math.max(1, h - 1.5));
    };
    const accent = dark ? '#7aa2ff' : '#3b6fe0';
    if (pick) {
      const a = pick.kind !== 'right' ? order.rows.indexOf(pick.i) : -1;
      const b = pick.kind !== 'left' ? order.cols.indexOf(pick.j) : -1;
      if (pick.kind === 'cell') outline(STRIP + b * cell - 2, STRIP + a * cell - 2, cell + 4, cell + 4, '#e8590c');
      else if (pick.kind === 'left') outline(STRIP, STRIP + a * cell, gw, cell, '#e8590c');
      else outline(STRIP + b * cell, STRIP, cell, gh, '#e8590c');
    }
    if (hot && (hot.i !== null || hot.j !== null)) {
      g.globalAlpha = 0.5;
      if (hot.i !== null) outline(STRIP, STRIP + order.rows.indexOf(hot.i) * cell, gw, cell, accent);
      if (hot.j !== null) outline(STRIP + order.cols.indexOf(hot.j) * cell, STRIP, cell, gh, accent);
      g.globalAlpha = 1;
    }
  }, [cmp, order, cell, palL, palR, dark, pick, hot?.i, hot?.j]);

  const at = (e: MouseEvent) => {
    const rect = canvas.current!.getBoundingClientRect();
    const x = e.clientX - rect.left, y = e.clientY - rect.top;
    const b = Math.floor((x - STRIP) / cell), a = Math.floor((y - STRIP) / cell);
    const i = a >= 0 && a < nr ? order.rows[a] : null;
    const j = b >= 0 && b < nc ? order.cols[b] : null;
    const wr = wrap.current!.getBoundingClientRect();
    return { i: y >= STRIP ? i : null, j: x >= STRIP ? j : null, x: e.clientX - wr.left, y: e.clientY - wr.top, inStripL: x < STRIP, inStripT: y < STRIP };
  };
  const { counts, left: lc, right: rc } = cmp.overlap;
  const tip = hot && (hot.i !== null || hot.j !== null) && (
    <div class="heat-tip" style={{ left: `min(${hot.x + 14}px, calc(100% - 300px))`, top: `${hot.y + 14}px` }} data-testid="heat-tip">
      {hot.i !== null && (
        <div class="chip">
          <span class="swatch" style={{ background: css(palL[lc[hot.i]] ?? [128, 128, 128]) }} />
          {left}: {labelOf('left', lc[hot.i])} <span class="muted">({fmtN(order.rowTotal[hot.i])})</span>
        </div>
      )}
      {hot.j !== null && (
        <div class="chip">
          <span class="swatch" style={{ background: css(palR[rc[hot.j]] ?? [128, 128, 128]) }} />
          {right}: {labelOf('right', rc[hot.j])} <span class="muted">({fmtN(order.colTotal[hot.j])})</span>
        </div>
      )}
      {hot.i !== null && hot.j !== null && (
        <div>
          <strong>{fmtN(counts[hot.i][hot.j])}</strong> rows in both ·{' '}
          {Math.round((100 * counts[hot.i][hot.j]) / Math.max(1, order.rowTotal[hot.i]))} % of the first,{' '}
          {Math.round((100 * counts[hot.i][hot.j]) / Math.max(1, order.colTotal[hot.j]))} % of the second
        </div>
      )}
    </div>
  );
  return (
    <div class="heat-wrap" ref={wrap}>
      <canvas
        ref={canvas}
        data-testid="heatmap"
        data-cell={cell}
        data-strip={STRIP}
        role="img"
        aria-label={`Overlap of the clusters of ${left} (rows) and ${right} (columns)`}
        onMouseMove={(e) => {
          const h = at(e);
          setHot(h.i === null && h.j === null ? null : { i: h.i, j: h.j, x: h.x, y: h.y });
        }}
        onMouseLeave={() => setHot(null)}
        onClick={(e) => {
          const h = at(e);
          if (h.inStripL && h.i !== null) onPick({ kind: 'left', i: h.i });
          else if (h.inStripT && h.j !== null) onPick({ kind: 'right', j: h.j });
          else if (h.i !== null && h.j !== null) onPick({ kind: 'cell', i: h.i, j: h.j });
          else onPick(null);
        }}
      />
      {tip}
    </div>
  );
}
