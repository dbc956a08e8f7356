// Each step's parameters as a form: the server's defaults as placeholders
// (an empty field sends nothing, so the server's default applies), the
// embedders and labelers this build can run.
import { useState } from 'preact/hooks';
import type { Choice, StepName, Steps } from '../setupApi';
import { defaultMinClusterSize } from '../runs';

export type Params = Record<string, unknown>;

export interface FormProps {
  steps: Steps;
  rows: number;
  ds: string;
  value: Params;
  set: (k: string, v: unknown) => void;
}

function NumberField({
  name,
  label,
  value,
  set,
  placeholder,
  min,
  max,
  step,
  hint,
}: {
  name: string;
  label: string;
  value: unknown;
  set: (k: string, v: unknown) => void;
  placeholder: string;
  min?: number;
  max?: number;
  step?: number;
  hint?: string;
}) {
  return (
    <label class="field" title={hint}>
      <span>{label}</span>
      <input
        type="number"
        name={name}
        data-param={name}
        value={value === undefined ? '' : String(value)}
        placeholder={placeholder}
        min={min}
        max={max}
        step={step ?? 1}
        onInput={(e) => {
          const t = (e.target as HTMLInputElement).value;
          set(name, t === '' ? undefined : Number(t));
        }}
      />
    </label>
  );
}

function ChoiceSelect({ name, label, choices, value, set, fallback }: { name: string; label: string; choices: Choice[]; value: unknown; set: (k: string, v: unknown) => void; fallback: string }) {
  return (
    <label class="field">
      <span>{label}</span>
      <select name={name} data-param={name} value={String(value ?? fallback)} onChange={(e) => set(name, (e.target as HTMLSelectElement).value)}>
        {choices.map((c) => (
          <option key={c.name} value={c.name} disabled={!c.available} title={c.available ? c.description : c.reason}>
            {c.name}
            {c.available ? '' : ` (${c.reason ?? 'not available'})`}
          </option>
        ))}
      </select>
    </label>
  );
}

/** embed: the model, from the embedders' examples or typed. */
export function EmbedForm({ steps, value, set }: FormProps) {
  const def = steps.embed.default_model;
  const options: { spec: string; available: boolean; why?: string; embedder: Choice }[] = [];
  for (const e of steps.embed.embedders) {
    for (const x of e.examples.filter((x) => !x.includes('/path/'))) options.push({ spec: x, available: e.available, why: e.reason, embedder: e });
  }
  if (!options.some((o) => o.spec === def)) options.unshift({ spec: def, available: true, embedder: steps.embed.embedders[0] });
  const current = String(value.model ?? def);
  const [other, setOther] = useState(!options.some((o) => o.spec === current));
  const chosen = options.find((o) => o.spec === current)?.embedder ?? steps.embed.embedders.find((e) => current.startsWith(e.name));
  return (
    <>
      <label class="field wide">
        <span>Model</span>
        <select
          name="model"
          data-param="model"
          value={other ? '' : current}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value;
            setOther(v === '');
            set('model', v === '' ? current : v === def ? undefined : v);
          }}
        >
          {options.map((o) => (
            <option key={o.spec} value={o.spec} disabled={!o.available}>
              {o.spec}
              {o.spec === def ? ' (default)' : ''}
              {o.available ? '' : ` — ${o.why ?? 'not available'}`}
            </option>
          ))}
          <option value="">Other model…</option>
        </select>
      </label>
      {other && (
        <label class="field wide">
          <span>Model spec</span>
          <input
            name="model-spec"
            data-param="model-spec"
            value={current}
            placeholder="candle:BAAI/bge-small-en-v1.5"
            onInput={(e) => set('model', (e.target as HTMLInputElement).value || undefined)}
          />
        </label>
      )}
      {chosen && <p class="muted small field-note">{chosen.description}</p>}
    </>
  );
}

/** umap: UMAP (or PCA) and its main parameters. */
export function UmapForm({ steps, value, set }: FormProps) {
  const d = steps.umap.defaults;
  const r = steps.umap.ranges;
  const method = String(value.method ?? 'umap');
  return (
    <>
      <div class="field wide">
        <span>Method</span>
        <div class="seg" role="group" aria-label="Method">
          {(steps.umap.methods ?? ['umap', 'pca']).map((m) => (
            <button key={m} type="button" data-param-method={m} class={method === m ? 'on' : ''} onClick={() => set('method', m === 'umap' ? undefined : m)}>
              {m.toUpperCase()}
            </button>
          ))}
        </div>
      </div>
      {method !== 'pca' && (
        <>
          <NumberField
            name="neighbors"
            label="Neighbors"
            value={value.neighbors}
            set={set}
            placeholder={String(d.neighbors ?? 25)}
            min={Number(r.neighbors?.min ?? 2)}
            max={Number(r.neighbors?.max ?? 200)}
            hint="More neighbours: more global structure"
          />
          <NumberField name="min_dist" label="Min dist" value={value.min_dist} set={set} placeholder={String(d.min_dist ?? 0.1)} min={0} step={0.05} hint="How tightly points pack" />
          <NumberField name="seed" label="Seed" value={value.seed} set={set} placeholder={d.seed == null ? 'default' : String(d.seed)} min={0} hint="Random seed (the same seed gives the same map)" />
        </>
      )}
    </>
  );
}

/** cluster: HDBSCAN's sizes (the default grows with the row count, as the core's). */
export function ClusterForm({ rows, value, set }: FormProps) {
  const mcs = defaultMinClusterSize(rows);
  const chosenMcs = typeof value.min_cluster_size === 'number' ? value.min_cluster_size : mcs;
  return (
    <>
      <NumberField
        name="min_cluster_size"
        label="Min cluster size"
        value={value.min_cluster_size}
        set={set}
        placeholder={String(mcs)}
        min={2}
        hint="The smallest group of rows that counts as a cluster"
      />
      <NumberField
        name="min_samples"
        label="Min samples"
        value={value.min_samples}
        set={set}
        placeholder={String(Math.min(chosenMcs, 5))}
        min={1}
        hint="Higher: more rows left unclustered"
      />
    </>
  );
}

/** label: the labeler. */
export function LabelForm({ steps, value, set }: FormProps) {
  const labelers = steps.label.labelers;
  const current = String(value.labeler ?? labelers[0]?.name ?? 'keywords');
  const chosen = labelers.find((l) => l.name === current);
  return (
    <>
      <ChoiceSelect name="labeler" label="Labeler" choices={labelers} value={value.labeler} set={set} fallback={labelers[0]?.name ?? 'keywords'} />
      {chosen && <p class="muted small field-note">{chosen.description}</p>}
    </>
  );
}

/** scope: its name and description. */
export function ScopeForm({ ds, value, set }: FormProps) {
  return (
    <>
      <label class="field wide">
        <span>Name</span>
        <input name="label" data-param="label" value={String(value.label ?? '')} placeholder={ds} onInput={(e) => set('label', (e.target as HTMLInputElement).value || undefined)} />
      </label>
      <label class="field wide">
        <span>Description</span>
        <input
          name="description"
          data-param="description"
          value={String(value.description ?? '')}
          placeholder="optional"
          onInput={(e) => set('description', (e.target as HTMLInputElement).value || undefined)}
        />
      </label>
    </>
  );
}

export const FORMS: Record<StepName, (p: FormProps) => preact.JSX.Element> = {
  embed: EmbedForm,
  umap: UmapForm,
  cluster: ClusterForm,
  label: LabelForm,
  scope: ScopeForm,
};
