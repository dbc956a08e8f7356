// Colours: a categorical palette for clusters and categories, ramps for numbers.
import { interpolateViridis, interpolatePlasma, schemeTableau10 } from 'd3-scale-chromatic';

export type RGB = [number, number, number];

/** The map's background, light and dark. */
export const BG_LIGHT: RGB = [250, 250, 249];
export const BG_DARK: RGB = [19, 20, 24];

/** OKLCH → sRGB bytes (clamped). */
export function oklch(l: number, c: number, hDeg: number): RGB {
  const h = (hDeg * Math.PI) / 180;
  const a = c * Math.cos(h);
  const b = c * Math.sin(h);
  const l_ = l + 0.3963377774 * a + 0.2158037573 * b;
  const m_ = l - 0.1055613458 * a - 0.0638541728 * b;
  const s_ = l - 0.0894841775 * a - 1.291485548 * b;
  const L = l_ ** 3;
  const M = m_ ** 3;
  const S = s_ ** 3;
  const r = 4.0767416621 * L - 3.3077115913 * M + 0.2309699292 * S;
  const g = -1.2684380046 * L + 2.6097574011 * M - 0.3413193965 * S;
  const bl = -0.0041960863 * L - 0.7034186147 * M + 1.707614701 * S;
  const enc = (x: number) => {
    x = Math.max(0, Math.min(1, x));
    const v = x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055;
    return Math.round(v * 255);
  };
  return [enc(r), enc(g), enc(bl)];
}

function hex(s: string): RGB {
  const n = parseInt(s.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function css([r, g, b]: RGB, a = 1): string {
  return a >= 1 ? `rgb(${r},${g},${b})` : `rgba(${r},${g},${b},${a})`;
}

/**
 * n distinct colours: Tableau 10 for up to 10, else hues a golden angle
 * apart at three lightness levels, so neighbouring ids differ.
 */
export function categorical(n: number, dark: boolean): RGB[] {
  if (n <= 10) return schemeTableau10.slice(0, Math.max(n, 1)).map(hex);
  const out: RGB[] = [];
  const ls = dark ? [0.76, 0.66, 0.86] : [0.62, 0.52, 0.72];
  for (let i = 0; i < n; i++) {
    const hue = (i * 137.508 + 20) % 360;
    out.push(oklch(ls[i % 3], dark ? 0.15 : 0.16, hue));
  }
  return out;
}

/** A 256-step ramp for numbers (low → high). */
export function ramp(dark: boolean): RGB[] {
  const f = dark ? interpolatePlasma : interpolateViridis;
  const out: RGB[] = [];
  for (let i = 0; i < 256; i++) {
    const t = dark ? 0.12 + 0.88 * (i / 255) : 0.95 * (i / 255);
    const s = f(t);
    const m = s.match(/\d+/g);
    if (s.startsWith('#')) out.push(hex(s));
    else if (m) out.push([+m[0], +m[1], +m[2]]);
    else out.push([128, 128, 128]);
  }
  return out;
}

export const GREY_LIGHT: RGB = [160, 160, 170];
export const GREY_DARK: RGB = [120, 122, 135];
