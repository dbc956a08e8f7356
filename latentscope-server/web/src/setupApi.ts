// The server's routes for the setup, jobs and settings pages: steps and
// their defaults, jobs, artifacts (runs), uploads and settings.
import { dsUrl, enc, getJSON, HttpError, sendJSON, type DatasetMeta, type ScopeSummary } from './api';

/** A model or labeler a step can use (`GET /api/steps`, `GET /api/models`). */
export interface Choice {
  name: string;
  description: string;
  examples: string[];
  available: boolean;
  reason?: string;
}

export interface Steps {
  embed: { default_model: string; embedders: Choice[] };
  umap: { defaults: Record<string, unknown>; ranges: Record<string, Record<string, unknown>>; methods: string[] };
  cluster: { defaults: Record<string, unknown>; ranges: Record<string, Record<string, unknown>> };
  label: { defaults: Record<string, unknown>; labelers: Choice[] };
}

export type StepName = 'embed' | 'umap' | 'cluster' | 'label' | 'scope';
export type JobStatus = 'running' | 'done' | 'error' | 'cancelled';

export interface JobEvent {
  id: number;
  kind: string;
  data: Record<string, unknown> | null;
}

export interface Progress {
  stage: string;
  done: number;
  total: number | null;
}

export interface Job {
  id: string;
  dataset: string;
  step: string;
  params: Record<string, unknown>;
  status: JobStatus;
  /** Milliseconds since the epoch, as a string. */
  started_at: string;
  finished_at?: string | null;
  progress: Progress | null;
  artifact: string | null;
  error?: string | null;
  rerun_of?: string | null;
  last_event: JobEvent | null;
  events: number;
}

export type ArtifactKind = 'embedding' | 'umap' | 'cluster' | 'labels' | 'scope';

export interface Artifact {
  kind: ArtifactKind;
  id: string;
  state: string;
  parents: string[];
  rows: number | null;
  files: { name: string; bytes: number }[];
  record: Record<string, unknown> | null;
  name?: string | null;
  description?: string | null;
}

export interface DatasetFull {
  meta: DatasetMeta;
  artifacts: Artifact[];
  scopes: ScopeSummary[];
}

export interface Preview {
  upload: string;
  name: string;
  dataset: string;
  size: number;
  format: string;
  rows_total: number | null;
  columns: { name: string; type: string }[];
  rows: Record<string, unknown>[];
  text_columns: string[];
  text_column: string | null;
}

export interface SettingEntry {
  name: string;
  set?: boolean;
  value?: string | null;
  source: string | null;
}

export interface Settings {
  keys: SettingEntry[];
  endpoints: SettingEntry[];
  config_file: string;
  data_dir: string;
  writable: boolean;
}

export interface Models {
  embedders: Choice[];
  labelers: Choice[];
}

let stepsPromise: Promise<Steps> | null = null;
/** `GET /api/steps`, once. */
export function steps(): Promise<Steps> {
  if (!stepsPromise) stepsPromise = getJSON<Steps>('/api/steps');
  stepsPromise.catch(() => (stepsPromise = null));
  return stepsPromise;
}

export const datasetFull = (ds: string) => getJSON<DatasetFull>(dsUrl(ds));
export const datasetJobs = (ds: string) => getJSON<Job[]>(`${dsUrl(ds)}/jobs`);
export const allJobs = () => getJSON<Job[]>('/api/jobs');
export const jobUrl = (id: string) => `/api/jobs/${enc(id)}`;
export const getJob = (id: string) => getJSON<Job>(jobUrl(id));
export const startJob = (ds: string, step: string, params: Record<string, unknown>) =>
  sendJSON<Job>('POST', `${dsUrl(ds)}/jobs`, { step, params });
export const cancelJob = (id: string) => sendJSON<Job>('POST', `${jobUrl(id)}/cancel`, {});
export const rerunJob = (id: string) => sendJSON<Job>('POST', `${jobUrl(id)}/rerun`, {});

const artifactUrl = (ds: string, id: string) => `${dsUrl(ds)}/artifacts/${enc(id)}`;
export const renameArtifact = (ds: string, id: string, body: { name?: string; description?: string }) =>
  sendJSON<{ id: string; name: string | null; description: string | null }>('PATCH', artifactUrl(ds, id), body);
export const dependents = (ds: string, id: string) =>
  getJSON<{ artifact: string; dependents: string[] }>(`${artifactUrl(ds, id)}/dependents`);
export const deleteArtifact = (ds: string, id: string, withDependents: boolean) =>
  sendJSON<{ deleted: string[] }>('DELETE', `${artifactUrl(ds, id)}?with_dependents=${withDependents}`);

/** `POST /api/uploads` (multipart, with upload progress). */
export function upload(file: File, onProgress: (sent: number, total: number) => void, signal?: AbortSignal): Promise<Preview> {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/uploads');
    x.setRequestHeader('X-Latentscope', '1');
    x.responseType = 'json';
    x.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    x.onload = () => {
      const body = x.response as (Preview & { error?: string }) | null;
      if (x.status >= 200 && x.status < 300 && body) resolve(body);
      else reject(new HttpError(x.status, body?.error ?? `${x.status} ${x.statusText}`));
    };
    x.onerror = () => reject(new HttpError(0, 'the upload failed (network error)'));
    x.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    signal?.addEventListener('abort', () => x.abort());
    const form = new FormData();
    form.append('file', file, file.name);
    x.send(form);
  });
}
export const dropUpload = (id: string) => sendJSON<unknown>('DELETE', `/api/uploads/${enc(id)}`).catch(() => {});
export const ingest = (upload: string, text_column: string, dataset: string) =>
  sendJSON<Job>('POST', '/api/datasets', { upload, text_column, dataset });

export const settings = () => getJSON<Settings>('/api/settings');
export const saveSetting = (name: string, value: string | null) => sendJSON<Settings>('POST', '/api/settings', { name, value });
export const models = () => getJSON<Models>('/api/models');

/** The error text of a failed request. */
export const errText = (e: unknown) => String((e as Error)?.message ?? e);
