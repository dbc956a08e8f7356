import * as S from '../store';

const fmt = (x: number) => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-2 && x !== 0) ? x.toExponential(2) : +x.toPrecision(4));

export function Legend() {
  const l = S.legend.value;
  if (l.kind === 'cluster') return null;
  return (
    <div class="legend" data-testid="legend">
      <div class="legend-title">{l.column}</div>
      {l.kind === 'categorical' && (
        <ul>
          {l.items.map((it) => (
            <li key={it.label}>
              <span class="swatch" style={{ background: it.color }} />
              <span class="name">{it.label}</span>
              <span class="num">{it.count.toLocaleString('en-US')}</span>
            </li>
          ))}
          {l.more > 0 && <li class="muted">+{l.more} more</li>}
        </ul>
      )}
      {(l.kind === 'numeric' || l.kind === 'ordinal') && (
        <>
          <div class="ramp" style={{ background: `linear-gradient(to right, ${l.stops.join(',')})` }} />
          <div class="ramp-ends">
            <span>{l.kind === 'numeric' ? fmt(l.min) : l.first}</span>
            <span>{l.kind === 'numeric' ? fmt(l.max) : l.last}</span>
          </div>
          {l.kind === 'ordinal' && <div class="muted small">{l.count.toLocaleString('en-US')} values, in order</div>}
        </>
      )}
    </div>
  );
}
