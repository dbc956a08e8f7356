// A dataset's artifacts as the setup page's runs: which step made them, what
// they came from, their parameters as badges, counts, time taken, thumbnail.
import { dsUrl, enc } from './api';
import type { Artifact, ArtifactKind, DatasetFull, Job, StepName } from './setupApi';

export const STEP_KIND: Record<StepName, ArtifactKind> = {
  embed: 'embedding',
  umap: 'umap',
  cluster: 'cluster',
  label: 'labels',
  scope: 'scope',
};
export const STEP_ORDER: StepName[] = ['embed', 'umap', 'cluster', 'label', 'scope'];

/** The chosen run of each step that feeds the next. */
export interface Chain {
  embedding: string | null;
  umap: string | null;
  cluster: string | null;
  labels: string | null;
}
export const CHAIN_KEYS: (keyof Chain)[] = ['embedding', 'umap', 'cluster', 'labels'];

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const rec = (a: Artifact) => a.record ?? {};

/** Runs of one kind, newest first (ids are numbered in order). */
export function runsOf(d: DatasetFull | null, kind: ArtifactKind, parent?: string | null): Artifact[] {
  if (!d) return [];
  return d.artifacts
    .filter((a) => a.kind === kind && (parent === undefined || (parent !== null && a.parents.includes(parent))))
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** The newest finished run of `kind` made from `parent`. */
function latest(d: DatasetFull, kind: ArtifactKind, parent: string | null): string | null {
  if (!parent) return null;
  return runsOf(d, kind, parent).find((a) => a.state === 'finished')?.id ?? null;
}

/**
 * Fills the chain: each link kept when it exists and comes from the link
 * before, else the newest run that does (the embedding: the newest scope's,
 * else the newest).
 */
export function fillChain(d: DatasetFull, want: Partial<Chain>): Chain {
  const has = (id: string | null | undefined, kind: ArtifactKind, parent?: string | null) =>
    !!id && d.artifacts.some((a) => a.id === id && a.kind === kind && a.state === 'finished' && (parent === undefined || a.parents.includes(parent ?? '')));
  const newestScope = runsOf(d, 'scope')[0];
  const scopeRec = newestScope ? rec(newestScope) : {};
  let embedding = has(want.embedding, 'embedding') ? want.embedding! : null;
  if (!embedding && has(str(scopeRec.embedding_id), 'embedding')) embedding = str(scopeRec.embedding_id);
  if (!embedding) embedding = runsOf(d, 'embedding').find((a) => a.state === 'finished')?.id ?? null;
  const pick = (w: string | null | undefined, kind: ArtifactKind, parent: string | null, fromScope: unknown) => {
    if (has(w, kind, parent)) return w!;
    const s = str(fromScope);
    if (!want.embedding && has(s, kind, parent)) return s;
    return latest(d, kind, parent);
  };
  const umap = pick(want.umap, 'umap', embedding, scopeRec.umap_id);
  const cluster = pick(want.cluster, 'cluster', umap, scopeRec.cluster_id);
  const labels = pick(want.labels, 'labels', cluster, scopeRec.cluster_labels_id);
  return { embedding, umap, cluster, labels };
}

/** The chain through run `id` (chosen for `key`): its ancestors, then the newest runs made from it. */
export function chooseRun(d: DatasetFull, key: keyof Chain, id: string): Chain {
  const want: Partial<Chain> = { [key]: id };
  let i = CHAIN_KEYS.indexOf(key);
  let cur = d.artifacts.find((a) => a.id === id);
  while (cur && i > 0) {
    i--;
    const parent = cur.parents[0];
    want[CHAIN_KEYS[i]] = parent;
    cur = d.artifacts.find((a) => a.id === parent);
  }
  return fillChain(d, want);
}

/** The chain a scope was made from. */
export function scopeChain(d: DatasetFull, scope: Artifact): Chain {
  const r = rec(scope);
  return fillChain(d, {
    embedding: str(r.embedding_id),
    umap: str(r.umap_id),
    cluster: str(r.cluster_id),
    labels: str(r.cluster_labels_id),
  });
}

/** Whether a scope was made from exactly this chain. */
export function scopeMatches(scope: Artifact, c: Chain): boolean {
  const r = rec(scope);
  return r.embedding_id === c.embedding && r.umap_id === c.umap && r.cluster_id === c.cluster && r.cluster_labels_id === c.labels;
}

/** The image of a run: its own thumbnail, else its parent's. */
export function thumbnail(ds: string, a: Artifact): string | null {
  const png = (folder: string, id: string) => `${dsUrl(ds)}/files/${folder}/${enc(id)}.png`;
  const r = rec(a);
  switch (a.kind) {
    case 'umap':
      return a.files.some((f) => f.name.endsWith('.png')) ? png('umaps', a.id) : null;
    case 'cluster':
      return a.files.some((f) => f.name.endsWith('.png')) ? png('clusters', a.id) : null;
    case 'labels':
      return str(r.cluster_id) ? png('clusters', str(r.cluster_id)!) : null;
    case 'scope': {
      const c = str(r.cluster_id);
      return c ? png('clusters', c) : str(r.umap_id) ? png('umaps', str(r.umap_id)!) : null;
    }
    default:
      return null;
  }
}

export interface Badge {
  k: string;
  v: string;
}

const fmt = (v: number) => (Number.isInteger(v) ? v.toLocaleString('en-US') : String(+v.toFixed(4)));

/** A run's parameters as badges. */
export function badges(a: Artifact): Badge[] {
  const r = rec(a);
  const p = (r.params ?? {}) as Record<string, unknown>;
  const out: Badge[] = [];
  const add = (k: string, v: unknown) => {
    if (v === null || v === undefined || v === '') return;
    out.push({ k, v: typeof v === 'number' ? fmt(v) : String(v) });
  };
  switch (a.kind) {
    case 'embedding':
      add('model', r.model_spec ?? r.model_id);
      add('dims', r.dimensions);
      if (r.prefix) add('prefix', r.prefix);
      break;
    case 'umap':
      add('method', r.method ?? 'umap');
      if (r.method !== 'pca') {
        add('neighbors', r.neighbors ?? p.neighbors);
        add('min_dist', num(p.min_dist) ?? r.min_dist);
        add('seed', String(r.seed ?? p.seed ?? ''));
      }
      break;
    case 'cluster':
      add('min_cluster_size', r.samples ?? p.samples);
      add('min_samples', r.min_samples ?? p.min_samples);
      if (num(r.cluster_selection_epsilon)) add('epsilon', r.cluster_selection_epsilon);
      break;
    case 'labels':
      add('labeler', r.labeler);
      break;
    case 'scope':
      add('embedding', r.embedding_id);
      add('umap', r.umap_id);
      add('cluster', r.cluster_id);
      add('labels', r.cluster_labels_id);
      break;
  }
  return out;
}

/** Counts shown under a run: rows, clusters, noise, labels. */
export function counts(a: Artifact): string[] {
  const r = rec(a);
  const rows = a.rows ?? num(r.rows);
  const out: string[] = [];
  if (a.kind === 'cluster') {
    const n = num(r.n_clusters);
    if (n !== null) out.push(`${fmt(n)} clusters`);
    const noise = num(r.n_noise);
    if (noise !== null && rows) out.push(`${((100 * noise) / rows).toFixed(0)} % noise`);
  } else if (a.kind === 'labels') {
    const n = num(r.n_labels);
    if (n !== null) out.push(`${fmt(n)} labels`);
  } else if (a.kind === 'scope') {
    const c = (r.cluster ?? {}) as Record<string, unknown>;
    const n = num(c.n_clusters);
    if (n !== null) out.push(`${fmt(n)} clusters`);
  }
  if (rows !== null && a.kind !== 'labels') out.unshift(`${fmt(rows)} rows`);
  return out;
}

/** Seconds a run took: its record's, else the job's that made it. */
export function seconds(a: Artifact, jobs: Job[]): number | null {
  const s = num(rec(a).seconds);
  if (s !== null) return s;
  const j = jobs.find((j) => j.artifact === a.id && j.status === 'done' && j.finished_at);
  return j ? (Number(j.finished_at) - Number(j.started_at)) / 1000 : null;
}

/** The name shown: the user's name, else a scope's label, else the id. */
export function title(a: Artifact): string {
  if (a.name) return a.name;
  if (a.kind === 'scope') {
    const l = str(rec(a).label);
    if (l) return l;
  }
  // `cluster-001-labels-002` → `labels-002` (the gallery is of one clustering's).
  if (a.kind === 'labels') return a.id.replace(/^cluster-\d+-/, '');
  return a.id;
}

export function describe(a: Artifact): string | null {
  if (a.description) return a.description;
  if (a.kind === 'scope') return str(rec(a).description);
  return null;
}

/** The default min_cluster_size of a dataset of `rows` (the core's: √rows / 4, 5–1000). */
export function defaultMinClusterSize(rows: number): number {
  return Math.min(1000, Math.max(5, Math.round(Math.sqrt(rows) / 4)));
}
