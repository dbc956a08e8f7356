// SVG elements for a map's overlay (markers, outlines).
const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with its attributes. */
export function svgElement<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}
