// App state shared by the map and the panels.
import { computed, signal } from '@preact/signals';
import type { DatasetDetail, LabelInfo, ScopeJson, Version } from './api';
import { SITE, type SiteInfo } from './site';
import type { Shape } from './map/shapes';

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
/** A static site's `site.json` (null on a server). */
export const siteInfo = signal<SiteInfo | null>(null);
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
/** Every point of the scope shown has arrived. */
export const complete = signal<boolean>(false);
export const switching = signal<string | null>(null);
export const errorText = signal<string | null>(null);
export const dark = signal<boolean>(
  typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: dark)').matches,
);
if (typeof matchMedia !== 'undefined') {
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', (e) => (dark.value = e.matches));
}

/** Whether write controls may show: only once /api/version said the server writes (never in a static site). */
export const canWrite = computed(() => versionInfo.value !== null && !versionInfo.value.read_only && SITE === null);

// ---- working with rows: selection, search, filters, table, tags, curation ----

/** A selection shape in data coordinates (map/shapes.ts). */
export type { Shape };
export type Tool = 'pan' | 'box' | 'lasso';
export const tool = signal<Tool>('pan');
/** The selection as shapes (their union); the map turns them into rows. */
export const shapes = signal<Shape[]>([]);
/** The selected rows (ls_index, ascending), null when nothing is selected. */
export const selection = signal<Uint32Array | null>(null);
/** Milliseconds the last selection took (shapes → rows → colours). */
export const selectMs = signal<number>(0);

export type Filter =
  | { kind: 'cluster'; cluster: number }
  | { kind: 'tag'; tag: string }
  | { kind: 'value'; column: string; value: string | number | boolean | null }
  | { kind: 'range'; column: string; min: number | null; max: number | null };
export const filters = signal<Filter[]>([]);
/** Rows passing every filter (a mask by ls_index), null without filters. */
export const filterMask = signal<{ mask: Uint8Array; count: number } | null>(null);
export const filterBusy = signal<boolean>(false);

export interface Search {
  /** nn: by meaning of the text; text: substring; row: rows like the row numbered `query`. */
  mode: 'nn' | 'text' | 'row';
  query: string;
}
export const search = signal<Search | null>(null);
export interface SearchResult {
  indices: Uint32Array;
  /** Cosine distances (similarity search), in the order of `indices`. */
  distances: Float32Array | null;
  total: number;
  tookMs: number | null;
}
export const searchResult = signal<SearchResult | null>(null);
export const searchBusy = signal<boolean>(false);

/**
 * The rows in focus: the selection, the search results and the filters
 * combined (AND). `rows` lists them (search rank first when searching), the
 * map dims every other point, the table lists them. Null: nothing active.
 */
export interface Focus {
  mask: Uint8Array;
  rows: Uint32Array;
  /** Distance by position in `rows` (similarity search only). */
  distances: Float32Array | null;
  sources: string[];
}
export const focus = signal<Focus | null>(null);
/** The row the table's pointer is on (the map marks its point). */
export const tableHover = signal<number | null>(null);
export const tableOpen = signal<boolean>(true);

/** Tags of the dataset with their sizes. */
export const tags = signal<Record<string, number>>({});

/** Curation edits, undoable until saved as a new scope. */
export type Edit =
  | { kind: 'label'; cluster: number; label: string; description: string }
  | { kind: 'move'; rows: number[]; cluster: number }
  | { kind: 'delete'; rows: number[] };
export const edits = signal<Edit[]>([]);
/** A short message (what just happened), cleared after a while. */
export const toast = signal<string | null>(null);

/** Lookups the map provides to the panels. */
export const lookups = {
  clusterOf: (_row: number): number | null => null,
  /** Centres the map on a row. */
  centreOn: (_row: number): void => {},
  /** The rows of a cluster as a mask by ls_index (with the edits applied). */
  clusterMask: (_c: number): Uint8Array | null => null,
  /** Rows in the scope and not deleted, as a mask by ls_index. */
  liveMask: (): Uint8Array | null => null,
  /** Number of rows a mask needs (the dataset's length). */
  rowCount: (): number => 0,
  /** Switches to a scope of this dataset (curation saves). */
  switchScope: (_s: string): void => {},
};
