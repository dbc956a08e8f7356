// How a row's values show: URLs as links, image URLs as images.
const IMG = /\.(png|jpe?g|gif|webp|svg|avif)(\?.*)?$/i;
const URL_RE = /^https?:\/\/\S+$/i;

export function Value({ v, full }: { v: unknown; full?: boolean }) {
  if (v === null || v === undefined) return <span class="muted">—</span>;
  if (typeof v === 'string') {
    const s = v.trim();
    if (URL_RE.test(s)) {
      if (IMG.test(s))
        return (
          <a href={s} target="_blank" rel="noopener noreferrer">
            <img class="cell-img" src={s} alt="" loading="lazy" referrerpolicy="no-referrer" />
          </a>
        );
      return (
        <a href={s} target="_blank" rel="noopener noreferrer">
          {s}
        </a>
      );
    }
    if (!full && s.length > 300) return <>{s.slice(0, 300)}…</>;
    return <>{s}</>;
  }
  if (typeof v === 'number') return <>{Number.isInteger(v) ? String(v) : String(+v.toPrecision(6))}</>;
  if (typeof v === 'boolean') return <>{v ? 'true' : 'false'}</>;
  return <>{JSON.stringify(v)}</>;
}
