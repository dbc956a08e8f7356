// The bar over the map: selection tools, the one search box (with
// suggestions), the filter chips, adding a filter, and the tags.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import * as S from '../store';
import { dsUrl, getJSON, sendJSON, tagUrl } from '../api';
import { addFilter, filterText, refreshTags, removeFilter } from '../sets';
import { SITE, siteValues } from '../site';

interface ValueCount {
  value: string | number | boolean | null;
  count: number;
}

/** Columns with few distinct values (suggested as filters), and numeric ones. */
function columnKinds() {
  const meta = S.scopeJson.value?.scope.dataset;
  const cat: string[] = [];
  const num: string[] = [];
  if (!meta) return { cat, num, meta };
  const cm = meta.column_metadata ?? {};
  for (const c of meta.columns) {
    if (c === meta.text_column) continue;
    const m = cm[c];
    if (m && (/int|float|double|decimal/i.test(m.data_type ?? '') || m.type === 'number')) num.push(c);
    else cat.push(c);
  }
  return { cat, num, meta };
}

const valueCache = new Map<string, Promise<ValueCount[]>>();
function values(ds: string, column: string): Promise<ValueCount[]> {
  const key = `${ds}\u0000${column}`;
  let p = valueCache.get(key);
  if (!p) {
    p = SITE
      ? siteValues(column)
      : getJSON<{ values: ValueCount[] }>(`${dsUrl(ds)}/columns/${encodeURIComponent(column)}/values?limit=1000`).then((r) => r.values);
    p.catch(() => valueCache.delete(key));
    valueCache.set(key, p);
  }
  return p;
}

interface Suggestion {
  key: string;
  group: string;
  text: string;
  hint?: string;
  run: () => void;
}

function SearchBox({ ds }: { ds: string }) {
  const [q, setQ] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [vals, setVals] = useState<{ column: string; v: ValueCount }[]>([]);
  const input = useRef<HTMLInputElement>(null);
  const { cat } = columnKinds();
  const qt = q.trim();
  // '/' focuses the box.
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === '/' && !(t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || t.isContentEditable)) {
        e.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  }, []);
  // Column values containing the text.
  useEffect(() => {
    if (!qt) {
      setVals([]);
      return;
    }
    let stop = false;
    const t = window.setTimeout(async () => {
      const out: { column: string; v: ValueCount }[] = [];
      const low = qt.toLowerCase();
      for (const c of cat.slice(0, 6)) {
        try {
          const vs = await values(ds, c);
          for (const v of vs) if (v.value !== null && String(v.value).toLowerCase().includes(low)) {
            out.push({ column: c, v });
            if (out.filter((o) => o.column === c).length >= 4) break;
          }
        } catch {
          /* a column without values */
        }
      }
      if (!stop) setVals(out.slice(0, 8));
    }, 120);
    return () => {
      stop = true;
      clearTimeout(t);
    };
  }, [qt, ds, cat.join('\u0000')]);

  const sugg = useMemo<Suggestion[]>(() => {
    if (!qt) return [];
    const low = qt.toLowerCase();
    const out: Suggestion[] = [
      // A static site has no model to embed the text with.
      ...(SITE
        ? []
        : [
            {
              key: 'nn',
              group: 'Search',
              text: `Similar to “${qt}”`,
              hint: 'nearest 100 by meaning',
              run: () => (S.search.value = { mode: 'nn', query: qt }),
            },
          ]),
      {
        key: 'text',
        group: 'Search',
        text: `Text contains “${qt}”`,
        hint: S.scopeJson.value?.scope.dataset.text_column,
        run: () => (S.search.value = { mode: 'text', query: qt }),
      },
    ];
    const un = S.scopeJson.value?.scope.cluster?.unclustered_cluster ?? -1;
    for (const l of S.labels.value.filter((l) => l.cluster !== un && l.label.toLowerCase().includes(low)).slice(0, 5)) {
      out.push({
        key: `c${l.cluster}`,
        group: 'Clusters',
        text: l.label,
        hint: `${l.count.toLocaleString('en-US')} rows`,
        run: () => addFilter({ kind: 'cluster', cluster: l.cluster }),
      });
    }
    for (const { column, v } of vals) {
      out.push({
        key: `v${column}=${String(v.value)}`,
        group: 'Column values',
        text: `${column} = ${String(v.value)}`,
        hint: `${v.count.toLocaleString('en-US')} rows`,
        run: () => addFilter({ kind: 'value', column, value: v.value }),
      });
    }
    for (const [t, n] of Object.entries(S.tags.value).filter(([t]) => t.toLowerCase().includes(low)).slice(0, 4)) {
      out.push({ key: `t${t}`, group: 'Tags', text: t, hint: `${n.toLocaleString('en-US')} rows`, run: () => addFilter({ kind: 'tag', tag: t }) });
    }
    return out;
  }, [qt, vals, S.labels.value, S.tags.value]);

  const pick = (s: Suggestion) => {
    s.run();
    // A filter becomes a chip: the box is free again.
    if (s.group !== 'Search') setQ('');
    setOpen(false);
    input.current?.blur();
  };
  return (
    <div class="search" data-testid="search">
      <input
        ref={input}
        type="search"
        placeholder={SITE ? 'Find text or filter  ( / )' : 'Search or filter  ( / )'}
        aria-label={SITE ? 'Find rows by their text, or a cluster or value to filter by' : 'Search rows by meaning or text, or find a cluster or value to filter by'}
        data-testid="search-input"
        value={q}
        onInput={(e) => {
          setQ((e.target as HTMLInputElement).value);
          setOpen(true);
          setActive(0);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => window.setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, sugg.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === 'Enter' && sugg[active]) {
            e.preventDefault();
            pick(sugg[active]);
          } else if (e.key === 'Escape') {
            e.stopPropagation();
            setOpen(false);
            input.current?.blur();
          }
        }}
      />
      {S.searchBusy.value && <span class="spinner" aria-label="searching" />}
      {open && sugg.length > 0 && (
        <ul class="suggest" role="listbox" data-testid="suggestions">
          {sugg.map((s, i) => (
            <>
              {(i === 0 || sugg[i - 1].group !== s.group) && <li class="group">{s.group}</li>}
              <li
                key={s.key}
                role="option"
                aria-selected={i === active}
                class={i === active ? 'on' : ''}
                data-key={s.key}
                onMouseDown={(e) => {
                  e.preventDefault();
                  pick(s);
                }}
                onMouseEnter={() => setActive(i)}
              >
                <span class="text">{s.text}</span>
                {s.hint && <span class="muted small">{s.hint}</span>}
              </li>
            </>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A form to add a filter: cluster, column value or numeric range. */
function FilterMenu({ ds }: { ds: string }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const { cat, num } = columnKinds();
  const [col, setCol] = useState('cluster');
  const [vals, setVals] = useState<ValueCount[]>([]);
  const [val, setVal] = useState('');
  const [lo, setLo] = useState('');
  const [hi, setHi] = useState('');
  useEffect(() => {
    setVal('');
    if (col === 'cluster' || num.includes(col)) return;
    values(ds, col).then(setVals, () => setVals([]));
  }, [col]);
  const un = S.scopeJson.value?.scope.cluster?.unclustered_cluster ?? -1;
  const apply = () => {
    if (col === 'cluster') {
      if (val !== '') addFilter({ kind: 'cluster', cluster: Number(val) });
    } else if (num.includes(col)) {
      const a = lo.trim() === '' ? null : Number(lo);
      const b = hi.trim() === '' ? null : Number(hi);
      if ((a === null || Number.isFinite(a)) && (b === null || Number.isFinite(b)) && (a !== null || b !== null))
        addFilter({ kind: 'range', column: col, min: a, max: b });
    } else if (val !== '') {
      const v = vals[Number(val)];
      if (v) addFilter({ kind: 'value', column: col, value: v.value });
    }
    if (ref.current) ref.current.open = false;
  };
  return (
    <details class="menu filter-menu" ref={ref} data-testid="filter-menu">
      <summary title="Filter the rows by a cluster, a column value or a range">Filter</summary>
      <div class="menu-pop form">
        <label>
          <span class="muted small">Column</span>
          <select value={col} data-testid="filter-column" onChange={(e) => setCol((e.target as HTMLSelectElement).value)}>
            <option value="cluster">cluster</option>
            {cat.map((c) => (
              <option value={c} key={c}>
                {c}
              </option>
            ))}
            {num.map((c) => (
              <option value={c} key={c}>
                {c} (range)
              </option>
            ))}
          </select>
        </label>
        {col === 'cluster' && (
          <select value={val} data-testid="filter-value" onChange={(e) => setVal((e.target as HTMLSelectElement).value)}>
            <option value="">choose a cluster…</option>
            {S.labels.value
              .filter((l) => l.cluster !== un)
              .map((l) => (
                <option value={l.cluster} key={l.cluster}>
                  {l.label} ({l.count})
                </option>
              ))}
          </select>
        )}
        {col !== 'cluster' && !num.includes(col) && (
          <select value={val} data-testid="filter-value" onChange={(e) => setVal((e.target as HTMLSelectElement).value)}>
            <option value="">choose a value…</option>
            {vals.map((v, i) => (
              <option value={i} key={i}>
                {v.value === null ? '(empty)' : String(v.value)} ({v.count})
              </option>
            ))}
          </select>
        )}
        {num.includes(col) && (
          <div class="range">
            <input type="number" placeholder="min" value={lo} onInput={(e) => setLo((e.target as HTMLInputElement).value)} />
            <span class="muted">to</span>
            <input type="number" placeholder="max" value={hi} onInput={(e) => setHi((e.target as HTMLInputElement).value)} />
          </div>
        )}
        <button class="primary" onClick={apply} data-testid="filter-apply">
          Apply
        </button>
      </div>
    </details>
  );
}

/** The tags: filter by one; with a writable server also create and delete. */
function TagsMenu({ ds }: { ds: string }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const [name, setName] = useState('');
  const [open, setOpen] = useState(false);
  const write = S.canWrite.value;
  const tags = Object.entries(S.tags.value).sort((a, b) => a[0].localeCompare(b[0]));
  const create = async () => {
    const n = name.trim();
    if (!n) return;
    try {
      await sendJSON('POST', `${dsUrl(ds)}/tags`, { name: n });
      setName('');
      await refreshTags(ds);
      S.toast.value = `Tag “${n}” created`;
    } catch (e) {
      S.errorText.value = `tag: ${(e as Error).message}`;
    }
  };
  const remove = async (t: string) => {
    if (!confirm(`Delete the tag “${t}”? Its rows stay; only the tag goes.`)) return;
    try {
      await sendJSON('DELETE', tagUrl(ds, t));
      S.filters.value = S.filters.value.filter((f) => !(f.kind === 'tag' && f.tag === t));
      await refreshTags(ds);
    } catch (e) {
      S.errorText.value = `tag: ${(e as Error).message}`;
    }
  };
  return (
    <details class="menu tags-menu" ref={ref} data-testid="tags-menu" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
      <summary title="Tags: named sets of rows">Tags{tags.length ? ` (${tags.length})` : ''}</summary>
      {open && (
      <div class="menu-pop">
        {tags.length === 0 && <div class="muted small">No tags yet.</div>}
        {tags.map(([t, n]) => (
          <div class="tag-row" key={t} data-tag={t}>
            <button
              class="link"
              data-tag-filter
              title={`Show the rows tagged “${t}”`}
              onClick={() => {
                addFilter({ kind: 'tag', tag: t });
                if (ref.current) ref.current.open = false;
              }}
            >
              {t}
            </button>
            <span class="muted small">{n.toLocaleString('en-US')}</span>
            {write && (
              <button class="icon" data-write="tag-delete" title={`Delete the tag “${t}”`} aria-label={`Delete tag ${t}`} onClick={() => remove(t)}>
                ×
              </button>
            )}
          </div>
        ))}
        {write && (
          <form
            class="inline-form"
            data-write="tag-create"
            onSubmit={(e) => {
              e.preventDefault();
              create();
            }}
          >
            <input placeholder="new tag name" value={name} data-testid="tag-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            <button type="submit" data-testid="tag-create">
              Create
            </button>
          </form>
        )}
      </div>
      )}
    </details>
  );
}

export function RowsBar({ ds }: { ds: string }) {
  const tool = S.tool.value;
  const fs = S.filters.value;
  const q = S.search.value;
  const sr = S.searchResult.value;
  const sel = S.selection.value;
  const tools: [S.Tool, string, string][] = [
    ['pan', 'Pan', 'Drag to pan (H)'],
    ['box', 'Box', 'Drag a box to select (B); shift adds'],
    ['lasso', 'Lasso', 'Draw around points to select (L); shift adds'],
  ];
  return (
    <div class="rowsbar" data-testid="rows-bar">
      <div class="seg tools" role="group" aria-label="Map tool">
        {tools.map(([t, label, title]) => (
          <button key={t} class={tool === t ? 'on' : ''} data-tool={t} title={title} aria-pressed={tool === t} onClick={() => (S.tool.value = t)}>
            {label}
          </button>
        ))}
      </div>
      <SearchBox ds={ds} />
      <div class="chips" data-testid="chips">
        {sel && (
          <span class="fchip sel" data-chip="selection">
            {sel.length.toLocaleString('en-US')} selected
            <button class="x" aria-label="Clear the selection" title="Clear the selection (Esc)" onClick={() => (S.shapes.value = [])}>
              ×
            </button>
          </span>
        )}
        {q && (
          <span class="fchip search" data-chip="search">
            {q.mode === 'row' ? `≈ row ${q.query}` : q.mode === 'nn' ? `≈ ${q.query}` : `“${q.query}”`}
            {sr && <span class="muted"> · {sr.total.toLocaleString('en-US')}</span>}
            <button class="x" aria-label="Clear the search" title="Clear the search" onClick={() => (S.search.value = null)}>
              ×
            </button>
          </span>
        )}
        {fs.map((f) => (
          <span class="fchip" data-chip="filter" key={JSON.stringify(f)}>
            {f.kind === 'cluster' && <span class="swatch" style={{ background: S.clusterColors.value[f.cluster] }} />}
            {filterText(f)}
            <button class="x" aria-label="Clear this filter" title="Clear this filter" onClick={() => removeFilter(f)}>
              ×
            </button>
          </span>
        ))}
        {S.filterBusy.value && <span class="spinner" aria-label="filtering" />}
        {S.filterMask.value && (
          <span class="muted small" data-testid="filter-count">
            {S.filterMask.value.count.toLocaleString('en-US')} pass
          </span>
        )}
      </div>
      <span class="spacer" />
      <FilterMenu ds={ds} />
      {!SITE && <TagsMenu ds={ds} />}
    </div>
  );
}
