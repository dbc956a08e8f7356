// The table of the rows in focus (selection, search, filters): virtualised
// (only the rows on screen are in the DOM and fetched), sortable, columns
// chosen, long text expandable; hovering a row marks its point, a click
// centres the map on it. Its head holds the actions on those rows.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as S from '../store';
import { columnTable, dsUrl, exportRows, fetchRows, sendJSON, tagUrl, type Row } from '../api';
import { SITE } from '../site';
import { refreshTags } from '../sets';
import { Value } from './fields';

const ROW_H = 30;
const OVERSCAN = 20;

type SortKey = { key: string; desc: boolean } | null;

function fmtN(n: number) {
  return n.toLocaleString('en-US');
}

/** Sorts rows by a column's values (fetched for these rows, or the whole column). */
async function sortRows(ds: string, rows: Uint32Array, key: string, desc: boolean, textColumn: string): Promise<Uint32Array> {
  const n = rows.length;
  const pos = new Uint32Array(n);
  for (let i = 0; i < n; i++) pos[i] = i;
  let val: (i: number) => unknown;
  if (key === 'ls_index') val = (i) => rows[i];
  else if (key === 'cluster') {
    const names = S.labels.value;
    const c = rows.map((r) => S.lookups.clusterOf(r) ?? -1);
    val = (i) => names[c[i]]?.label ?? '';
  } else if (n <= 10_000) {
    const got = await fetchRows(ds, rows, [key]);
    const m = new Map<number, unknown>();
    for (const r of got) m.set(r.ls_index, r[key]);
    val = (i) => m.get(rows[i]);
  } else {
    const meta = S.scopeJson.value?.scope.dataset;
    const cm = meta?.column_metadata?.[key];
    const many = key === textColumn || (cm?.unique_values_count ?? 0) > (meta?.length ?? 0) * 0.5;
    const numeric = cm && (/int|float|double|decimal/i.test(cm.data_type ?? '') || cm.type === 'number');
    if (many && !numeric) throw new Error(`sorting by ${key} works for up to 10,000 rows (it has a value per row)`);
    const t = await columnTable(ds, key);
    const col = t.getChildAt(0)!;
    val = (i) => col.at(rows[i]);
  }
  const vs = new Array(n);
  for (let i = 0; i < n; i++) vs[i] = val(i);
  const sign = desc ? -1 : 1;
  const arr = Array.from(pos);
  arr.sort((a, b) => {
    const x = vs[a], y = vs[b];
    const xn = x === null || x === undefined, yn = y === null || y === undefined;
    if (xn || yn) return xn && yn ? a - b : xn ? 1 : -1;
    if (x === y) return a - b;
    return (x! < y! ? -1 : 1) * sign;
  });
  return Uint32Array.from(arr, (p) => rows[p]);
}

function ExportMenu({ ds, scope, rows }: { ds: string; scope: string; rows: Uint32Array }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const [busy, setBusy] = useState(false);
  const run = async (format: 'parquet' | 'csv' | 'jsonl') => {
    if (ref.current) ref.current.open = false;
    setBusy(true);
    try {
      const name = await exportRows(ds, scope, { indices: Array.from(rows), format });
      S.toast.value = `Exported ${fmtN(rows.length)} rows to ${name}`;
    } catch (e) {
      S.errorText.value = `export: ${(e as Error).message}`;
    } finally {
      setBusy(false);
    }
  };
  return (
    <details class="menu" ref={ref} data-testid="export-menu">
      <summary title="Download these rows with their coordinates, cluster, label and tag columns">Export{busy ? '…' : ''}</summary>
      <div class="menu-pop">
        <div class="muted small">{fmtN(rows.length)} rows as</div>
        {(['parquet', 'csv', 'jsonl'] as const).map((f) => (
          <button class="link left" key={f} data-format={f} onClick={() => run(f)}>
            {f === 'parquet' ? 'Parquet' : f === 'csv' ? 'CSV' : 'JSON Lines'}
          </button>
        ))}
      </div>
    </details>
  );
}

function TagMenu({ ds, rows }: { ds: string; rows: Uint32Array }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const [name, setName] = useState('');
  const tags = Object.entries(S.tags.value).sort((a, b) => a[0].localeCompare(b[0]));
  const apply = async (t: string, op: 'add' | 'remove', create = false) => {
    try {
      if (create) await sendJSON('POST', `${dsUrl(ds)}/tags`, { name: t });
      const r = await sendJSON<{ name: string; count: number }>('POST', `${tagUrl(ds, t)}/${op}`, { indices: Array.from(rows) });
      S.toast.value = `${op === 'add' ? 'Tagged' : 'Untagged'} ${fmtN(rows.length)} rows: “${t}” has ${fmtN(r.count)}`;
      setName('');
      if (ref.current) ref.current.open = false;
      await refreshTags(ds);
    } catch (e) {
      S.errorText.value = `tag: ${(e as Error).message}`;
    }
  };
  return (
    <details class="menu" ref={ref} data-testid="tag-menu" data-write="tag">
      <summary title="Add these rows to a tag, or take them out of one">Tag</summary>
      <div class="menu-pop">
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const n = name.trim();
            if (n) apply(n, 'add', !(n in S.tags.value));
          }}
        >
          <input placeholder="tag name" value={name} data-testid="tag-input" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <button type="submit" data-testid="tag-add-new">
            Add
          </button>
        </form>
        {tags.map(([t, n]) => (
          <div class="tag-row" key={t} data-tag={t}>
            <span class="name">{t}</span>
            <span class="muted small">{fmtN(n)}</span>
            <button class="link" data-op="add" title={`Add these rows to “${t}”`} onClick={() => apply(t, 'add')}>
              add
            </button>
            <button class="link" data-op="remove" title={`Take these rows out of “${t}”`} onClick={() => apply(t, 'remove')}>
              remove
            </button>
          </div>
        ))}
      </div>
    </details>
  );
}

function MoveMenu({ rows }: { rows: Uint32Array }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const un = S.scopeJson.value?.scope.cluster?.unclustered_cluster ?? -1;
  return (
    <details class="menu" ref={ref} data-testid="move-menu" data-write="move">
      <summary title="Move these rows to another cluster (saved as a new scope)">Move to</summary>
      <div class="menu-pop">
        {S.labels.value.map((l) => (
          <button
            class="link left"
            key={l.cluster}
            data-cluster={l.cluster}
            onClick={() => {
              S.edits.value = [...S.edits.value, { kind: 'move', rows: Array.from(rows), cluster: l.cluster }];
              if (ref.current) ref.current.open = false;
            }}
          >
            <span class="swatch" style={{ background: S.clusterColors.value[l.cluster] }} /> {l.label || `cluster ${l.cluster}`}
            {l.cluster === un ? ' (unclustered)' : ''}
          </button>
        ))}
      </div>
    </details>
  );
}

export function Table({ ds, scope }: { ds: string; scope: string }) {
  const f = S.focus.value;
  const meta = S.scopeJson.value?.scope.dataset;
  const textCol = meta?.text_column ?? '';
  const others = (meta?.columns ?? []).filter((c) => c !== textCol);
  const [cols, setCols] = useState<string[] | null>(null);
  const shown = cols ?? others.slice(0, 2);
  const [sort, setSort] = useState<SortKey>(null);
  const [order, setOrder] = useState<Uint32Array | null>(null);
  const [sorting, setSorting] = useState(false);
  const [expanded, setExpanded] = useState<Set<number>>(new Set());
  const heights = useRef(new Map<number, number>());
  const [scrollTop, setScrollTop] = useState(0);
  const [viewH, setViewH] = useState(300);
  const body = useRef<HTMLDivElement>(null);
  const cache = useRef(new Map<number, Row>());
  const [, bump] = useState(0);
  const rows = f?.rows ?? null;
  const write = S.canWrite.value;

  // New rows: the default order, back to the top.
  useEffect(() => {
    setOrder(null);
    setSort(null);
    setExpanded(new Set());
    if (body.current) body.current.scrollTop = 0;
    setScrollTop(0);
  }, [rows]);
  useEffect(() => {
    cache.current.clear();
    bump((x) => x + 1);
  }, [shown.join('\u0000'), S.edits.value]);
  useEffect(() => {
    if (!rows || !sort) return;
    let stop = false;
    setSorting(true);
    sortRows(ds, rows, sort.key, sort.desc, textCol).then(
      (o) => !stop && (setOrder(o), setSorting(false)),
      (e) => {
        if (stop) return;
        setSorting(false);
        setSort(null);
        S.errorText.value = (e as Error).message;
      },
    );
    return () => {
      stop = true;
    };
  }, [rows, sort?.key, sort?.desc]);
  useEffect(() => {
    const el = body.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight));
    ro.observe(el);
    setViewH(el.clientHeight);
    return () => ro.disconnect();
  }, [!!rows]);

  const list = order ?? rows;
  const distOf = useMemo(() => {
    const m = new Map<number, number>();
    if (f?.distances) f.rows.forEach((r, i) => m.set(r, f.distances![i]));
    return m;
  }, [f]);
  // Expanded rows are taller: their extra height shifts the rows below.
  const extras = useMemo(() => {
    if (!list) return [];
    const out: { pos: number; dh: number }[] = [];
    for (const r of expanded) {
      const pos = list.indexOf(r);
      if (pos >= 0) out.push({ pos, dh: (heights.current.get(r) ?? ROW_H * 4) - ROW_H });
    }
    return out.sort((a, b) => a.pos - b.pos);
  }, [list, expanded, heights.current.size]);
  const n = list?.length ?? 0;
  const extraTotal = extras.reduce((a, e) => a + e.dh, 0);
  const topOf = (i: number) => {
    let y = i * ROW_H;
    for (const e of extras) if (e.pos < i) y += e.dh;
    return y;
  };
  const indexAt = (y: number) => {
    let acc = 0;
    for (const e of extras) {
      if (y >= (e.pos + 1) * ROW_H + acc + e.dh) acc += e.dh;
      else break;
    }
    return Math.max(0, Math.min(n - 1, Math.floor((y - acc) / ROW_H)));
  };
  const i0 = n ? Math.max(0, indexAt(scrollTop) - OVERSCAN) : 0;
  const i1 = n ? Math.min(n, indexAt(scrollTop + viewH) + 1 + OVERSCAN) : 0;

  // Fetch the rows on screen (debounced while scrolling).
  useEffect(() => {
    if (!list || i1 <= i0) return;
    const want: number[] = [];
    for (let i = i0; i < i1; i++) if (!cache.current.has(list[i])) want.push(list[i]);
    if (!want.length) return;
    const t = window.setTimeout(() => {
      fetchRows(ds, want, [textCol, ...shown]).then(
        (got) => {
          for (const r of got) cache.current.set(r.ls_index, r);
          if (cache.current.size > 5000) {
            const keep = new Set(Array.from(list.subarray(i0, i1)));
            for (const k of cache.current.keys()) if (!keep.has(k)) cache.current.delete(k);
          }
          bump((x) => x + 1);
        },
        () => {},
      );
    }, 40);
    return () => clearTimeout(t);
  }, [list, i0, i1, shown.join('\u0000')]);

  if (!f || !rows) return null;
  const open = S.tableOpen.value;
  const sources = f.sources.join(' · ');
  const headers: { key: string; label: string; cls?: string }[] = [
    { key: 'rank', label: '#', cls: 'num' },
    ...(f.distances ? [{ key: 'distance', label: 'distance', cls: 'num' }] : []),
    { key: textCol, label: textCol, cls: 'text' },
    ...shown.map((c) => ({ key: c, label: c })),
    { key: 'cluster', label: 'cluster' },
  ];
  const clickSort = (key: string) => {
    if (key === 'rank' || key === 'distance') {
      setSort(null);
      setOrder(null);
      return;
    }
    setSort((s) => (s && s.key === key ? (s.desc ? null : { key, desc: true }) : { key, desc: false }));
    if (sort?.key === key && sort.desc) setOrder(null);
  };
  const grid = `56px ${f.distances ? '80px ' : ''}minmax(240px, 3fr) ${shown.map(() => 'minmax(90px, 1fr)').join(' ')} minmax(120px, 1fr)`;
  const items = [];
  for (let i = i0; i < i1; i++) {
    const r = list![i];
    const row = cache.current.get(r);
    const c = S.lookups.clusterOf(r);
    const isOpen = expanded.has(r);
    items.push(
      <div
        class={`trow ${isOpen ? 'expanded' : ''} ${S.pinned.value === r ? 'pinned' : ''}`}
        key={r}
        data-row={r}
        role="row"
        style={{ top: `${topOf(i)}px`, gridTemplateColumns: grid, height: isOpen ? undefined : `${ROW_H}px` }}
        ref={(el) => {
          if (el && isOpen) {
            const h = el.offsetHeight;
            if (h && heights.current.get(r) !== h) {
              heights.current.set(r, h);
              window.setTimeout(() => bump((x) => x + 1), 0);
            }
          }
        }}
        onMouseEnter={() => (S.tableHover.value = r)}
        onMouseLeave={() => S.tableHover.value === r && (S.tableHover.value = null)}
        onClick={() => {
          S.lookups.centreOn(r);
          S.pinned.value = r;
        }}
      >
        <span class="num muted">{order ? fmtN(r) : fmtN(i + 1)}</span>
        {f.distances && <span class="num">{distOf.get(r)?.toFixed(3)}</span>}
        <span class="text">
          <button
            class="icon expand"
            aria-label={isOpen ? 'Collapse the text' : 'Expand the text'}
            title={isOpen ? 'Collapse' : 'Show the whole text'}
            onClick={(e) => {
              e.stopPropagation();
              const next = new Set(expanded);
              if (isOpen) next.delete(r);
              else next.add(r);
              heights.current.delete(r);
              setExpanded(next);
            }}
          >
            {isOpen ? '▾' : '▸'}
          </button>
          {row ? <Value v={row[textCol]} full={isOpen} /> : <span class="muted">…</span>}
        </span>
        {shown.map((k) => (
          <span key={k}>{row ? <Value v={row[k]} full={isOpen} /> : ''}</span>
        ))}
        <span class="clabel">
          {c !== null && (
            <>
              <span class="swatch" style={{ background: S.clusterColors.value[c] }} /> {S.labels.value[c]?.label ?? c}
            </>
          )}
        </span>
      </div>,
    );
  }
  return (
    <section class={`table-panel ${open ? 'open' : 'closed'}`} data-testid="table" data-count={n}>
      <div class="table-head">
        <button
          class="icon"
          onClick={() => (S.tableOpen.value = !open)}
          title={open ? 'Hide the table' : 'Show the table'}
          aria-expanded={open}
          data-testid="table-toggle"
        >
          {open ? '▾' : '▴'}
        </button>
        <strong data-testid="table-count">{fmtN(n)} rows</strong>
        <span class="muted small">{sources}</span>
        {sorting && <span class="spinner" aria-label="sorting" />}
        <span class="spacer" />
        <ColumnsMenu all={others} shown={shown} onChange={setCols} />
        {!SITE && <ExportMenu ds={ds} scope={scope} rows={rows} />}
        {write && <TagMenu ds={ds} rows={rows} />}
        {write && <MoveMenu rows={rows} />}
        {write && (
          <button
            class="btn"
            data-write="delete"
            data-testid="delete-rows"
            title="Mark these rows deleted (saved as a new scope)"
            onClick={() => {
              S.edits.value = [...S.edits.value, { kind: 'delete', rows: Array.from(rows) }];
              S.shapes.value = [];
            }}
          >
            Delete rows
          </button>
        )}
        <button
          class="btn"
          data-testid="clear-all"
          title="Clear the selection, the search and the filters (Esc clears the selection)"
          onClick={() => {
            S.shapes.value = [];
            S.search.value = null;
            S.filters.value = [];
          }}
        >
          Clear
        </button>
      </div>
      {open && (
        <>
          <div class="thead" role="row" style={{ gridTemplateColumns: grid }}>
            {headers.map((h) => (
              <button
                key={h.key}
                class={`th ${h.cls ?? ''} ${sort?.key === h.key ? 'sorted' : ''}`}
                data-col={h.key}
                title={h.key === 'rank' ? 'Back to the first order' : `Sort by ${h.label}`}
                onClick={() => clickSort(h.key)}
              >
                {h.label}
                {sort?.key === h.key ? (sort.desc ? ' ↓' : ' ↑') : ''}
              </button>
            ))}
          </div>
          <div class="tbody" ref={body} onScroll={(e) => setScrollTop((e.target as HTMLDivElement).scrollTop)} data-testid="table-body">
            <div style={{ height: `${n * ROW_H + extraTotal}px`, position: 'relative' }}>{items}</div>
            {n === 0 && <div class="muted empty-note">No rows.</div>}
          </div>
        </>
      )}
    </section>
  );
}

function ColumnsMenu({ all, shown, onChange }: { all: string[]; shown: string[]; onChange: (c: string[]) => void }) {
  if (!all.length) return null;
  return (
    <details class="menu" data-testid="columns-menu">
      <summary title="Columns shown in the table">Columns</summary>
      <div class="menu-pop">
        {all.map((c) => (
          <label key={c} class="check">
            <input
              type="checkbox"
              checked={shown.includes(c)}
              onChange={() => onChange(all.filter((x) => (x === c ? !shown.includes(c) : shown.includes(x))))}
            />{' '}
            {c}
          </label>
        ))}
      </div>
    </details>
  );
}
