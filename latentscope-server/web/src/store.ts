// App state shared by the map and the panels.
import { signal } from '@preact/signals';
import type { DatasetDetail, LabelInfo, ScopeJson, Version } from './api';

export interface Hover {
  /** Row index (ls_index). */
  row: number;
  cluster: number;
  /** Screen position of the point (CSS px, relative to the map). */
  x: number;
  y: number;
}

export type Legend =
  | { kind: 'cluster' }
  | { kind: 'categorical'; column: string; items: { label: string; color: string; count: number }[]; more: number }
  | { kind: 'numeric'; column: string; min: number; max: number; stops: string[] }
  | { kind: 'ordinal'; column: string; first: string; last: string; stops: string[]; count: number };

export const versionInfo = signal<Version | null>(null);
export const dataset = signal<DatasetDetail | null>(null);
export const scopeJson = signal<ScopeJson | null>(null);
export const labels = signal<LabelInfo[]>([]);
export const clusterColors = signal<string[]>([]);
export const hovered = signal<Hover | null>(null);
export const pinned = signal<number | null>(null);
export const selectedCluster = signal<number | null>(null);
export const colorBy = signal<string>('cluster');
export const pointSize = signal<number>(2);
export const opacity = signal<number>(0.8);
export const panelOpen = signal<boolean>(true);
/** Columns the hover card shows besides the text (null: the first few). */
export const cardColumns = signal<string[] | null>(null);
export const legend = signal<Legend>({ kind: 'cluster' });
export const progress = signal<{ loaded: number; total: number }>({ loaded: 0, total: 0 });
export const drawnCount = signal<number>(0);
/** The map has drawn its first points (panels fill in after that). */
export const painted = signal<boolean>(false);
export const switching = signal<string | null>(null);
export const errorText = signal<string | null>(null);
export const dark = signal<boolean>(
  typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches,
);
if (typeof matchMedia !== 'undefined') {
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', (e) => (dark.value = e.matches));
}

/** Lookups the map provides to the panels. */
export const lookups = {
  clusterOf: (_row: number): number | null => null,
  /** Centres the map on a row. */
  centreOn: (_row: number): void => {},
};
