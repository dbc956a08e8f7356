import { useEffect, useState } from 'preact/hooks';
import * as S from '../store';
import type { Row, RowCache } from '../api';
import { Value } from './fields';

/** The card next to the hovered point: its text, a few columns, its cluster. */
export function HoverCard({ rows }: { rows: RowCache }) {
  const h = S.hovered.value;
  const [row, setRow] = useState<Row | null>(null);
  useEffect(() => {
    if (!h) return;
    const hit = rows.peek(h.row);
    if (hit) {
      setRow(hit);
      return;
    }
    const t = window.setTimeout(() => {
      rows.get(h.row).then(
        (r) => {
          if (S.hovered.value?.row === r.ls_index) setRow(r);
        },
        () => {},
      );
    }, 30);
    return () => clearTimeout(t);
  }, [h?.row]);
  if (!h) return null;
  const meta = S.scopeJson.value?.scope.dataset;
  const textCol = meta?.text_column ?? '';
  const r = row && row.ls_index === h.row ? row : null;
  const label = S.labels.value[h.cluster];
  const color = S.clusterColors.value[h.cluster];
  const chosen = S.cardColumns.value;
  const extra = r
    ? chosen
      ? chosen.filter((k) => k in r && k !== textCol)
      : Object.keys(r).filter((k) => k !== textCol && k !== 'ls_index').slice(0, 4)
    : [];
  // Keep the card inside the map.
  const left = h.x + 16;
  const top = h.y + 16;
  return (
    <div
      class="hover-card"
      data-testid="hover-card"
      data-row={h.row}
      style={{
        left: `min(${left}px, calc(100% - 380px))`,
        top: `min(${top}px, calc(100% - 200px))`,
      }}
    >
      {label && (
        <div class="chip">
          <span class="swatch" style={{ background: color }} />
          {label.label}
        </div>
      )}
      <div class="hover-text">{r ? String(r[textCol] ?? '') : <span class="muted">…</span>}</div>
      {extra.length > 0 && (
        <dl class="hover-fields">
          {extra.map((k) => (
            <>
              <dt>{k}</dt>
              <dd>
                <Value v={r![k]} />
              </dd>
            </>
          ))}
        </dl>
      )}
      <div class="muted small">row {h.row.toLocaleString('en-US')} · click for details</div>
    </div>
  );
}
