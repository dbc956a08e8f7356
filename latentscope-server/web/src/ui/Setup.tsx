// The setup page (`/datasets/{ds}/setup[?step=…]`): one panel per step in
// order. The chosen run of each step feeds the next (the chain, kept in the
// address); a finished job's run is chosen; every earlier run stays in its
// step's gallery to compare and to go back to.
import { useEffect, useRef, useState } from 'preact/hooks';
import { comparePath, explorePath, jobsPath } from '../route';
import { versionInfo } from '../store';
import { jobs as allJobs, onJobEnd, track, unfollowAll } from '../jobs';
import { CHAIN_KEYS, chooseRun, fillChain, runsOf, scopeChain, scopeMatches, seconds, STEP_ORDER, type Chain } from '../runs';
import { datasetFull, datasetJobs, errText, startJob, steps as getSteps, type DatasetFull, type Job, type StepName, type Steps } from '../setupApi';
import { PageBar, ReadOnlyNote } from './Nav';
import { StepPanel } from './StepPanel';
import { FORMS, type Params } from './StepForms';
import { RunCard } from './RunCard';

const EMPTY: Chain = { embedding: null, umap: null, cluster: null, labels: null };
/** The chain link each step's run fills. */
const KEY_OF: Partial<Record<string, keyof Chain>> = { embed: 'embedding', umap: 'umap', cluster: 'cluster', label: 'labels' };

export function Setup({ ds, step }: { ds: string; step: string | null }) {
  const v = versionInfo.value;
  useEffect(() => {
    document.title = `Setup · ${ds} · latentscope`;
  }, [ds]);
  return (
    <div class="page">
      <PageBar active="setup" ds={ds} />
      {!v ? <p class="page-note muted">Loading…</p> : v.read_only ? <ReadOnlyNote what="setting up a dataset" /> : <SetupBody ds={ds} step={step} />}
    </div>
  );
}

function chainFromAddress(): Chain {
  const q = new URLSearchParams(location.search);
  return { embedding: q.get('embedding'), umap: q.get('umap'), cluster: q.get('cluster'), labels: q.get('labels') };
}

function writeAddress(c: Chain) {
  const q = new URLSearchParams(location.search);
  q.delete('scope');
  for (const k of CHAIN_KEYS) {
    if (c[k]) q.set(k, c[k]!);
    else q.delete(k);
  }
  const s = q.toString();
  const url = location.pathname + (s ? `?${s}` : '') + location.hash;
  if (url !== location.pathname + location.search + location.hash) history.replaceState(null, '', url);
}

/** Only the parameters given (an empty field: the server's default). */
const given = (p: Params) => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined && v !== '' && !(typeof v === 'number' && !Number.isFinite(v))));

function SetupBody({ ds, step }: { ds: string; step: string | null }) {
  const [detail, setDetail] = useState<DatasetFull | null>(null);
  const [info, setInfo] = useState<Steps | null>(null);
  const [chain, setChainState] = useState<Chain>(EMPTY);
  const chainRef = useRef<Chain>(EMPTY);
  const [params, setParams] = useState<Record<StepName, Params>>({ embed: {}, umap: {}, cluster: {}, label: {}, scope: {} });
  const [shown, setShown] = useState<string[]>([]);
  const shownRef = useRef<string[]>([]);
  const [runErr, setRunErr] = useState<Partial<Record<StepName, string>>>({});
  const [err, setErr] = useState<string | null>(null);
  const scrolled = useRef(false);
  /** Steps whose Run also runs the steps after it (with their parameters then). */
  const [rest, setRest] = useState<Partial<Record<StepName, boolean>>>({});
  /** Jobs whose end starts the next step. */
  const chained = useRef(new Set<string>());
  const runRef = useRef<(s: StepName, chain?: boolean) => void>(() => {});

  const setChain = (c: Chain) => {
    chainRef.current = c;
    setChainState(c);
    writeAddress(c);
  };
  const show = (ids: string[]) => {
    shownRef.current = [...ids, ...shownRef.current.filter((x) => !ids.includes(x))];
    setShown(shownRef.current);
  };
  const reload = async (choose?: { key: keyof Chain; id: string }, fromScope?: string | null) => {
    try {
      const d = await datasetFull(ds);
      setDetail(d);
      setErr(null);
      const exists = choose && d.artifacts.some((a) => a.id === choose.id);
      const scope = fromScope ? d.artifacts.find((a) => a.kind === 'scope' && a.id === fromScope) : undefined;
      setChain(scope ? scopeChain(d, scope) : choose && exists ? chooseRun(d, choose.key, choose.id) : fillChain(d, chainRef.current));
    } catch (e) {
      setErr(errText(e));
    }
  };

  useEffect(() => {
    chainRef.current = chainFromAddress();
    // `?scope=…` (from the map): the runs that scope was made from.
    reload(undefined, new URLSearchParams(location.search).get('scope'));
    getSteps().then(setInfo, (e) => setErr(errText(e)));
    datasetJobs(ds).then(
      (list) => {
        track(list);
        // Running jobs, and each step's last job when it failed or was cancelled.
        const ids: string[] = [];
        for (const s of STEP_ORDER) {
          const mine = list.filter((j) => j.step === s);
          ids.push(...mine.filter((j) => j.status === 'running').map((j) => j.id));
          const last = mine[0];
          if (last && (last.status === 'error' || last.status === 'cancelled')) ids.push(last.id);
        }
        show(ids);
      },
      () => {},
    );
    const off = onJobEnd(async (j) => {
      if (j.dataset !== ds) return;
      const key = KEY_OF[j.step];
      if (j.status === 'done' && j.artifact && key && shownRef.current.includes(j.id)) await reload({ key, id: j.artifact });
      else await reload();
      // Its run chosen, the next step starts.
      if (j.status === 'done' && chained.current.delete(j.id)) {
        const next = STEP_ORDER[STEP_ORDER.indexOf(j.step as StepName) + 1];
        if (next) runRef.current(next, true);
      }
    });
    return () => {
      off();
      unfollowAll();
    };
  }, [ds]);

  // `?step=…`: that panel scrolled into view once the page has its content.
  useEffect(() => {
    if (!detail || !info || !step || scrolled.current) return;
    scrolled.current = true;
    document.getElementById(`step-${step}`)?.scrollIntoView({ block: 'start' });
  }, [detail, info, step]);

  const rows = detail?.meta.length ?? 0;
  const jobList = Object.values(allJobs.value).filter((j) => j.dataset === ds);
  /** A step's running jobs and the last one that ended. */
  const stepJobs = (s: StepName) => {
    const mine = shown.map((id) => allJobs.value[id]).filter((j): j is Job => !!j && j.step === s);
    const lastEnded = mine.find((j) => j.status !== 'running');
    return mine.filter((j) => j.status === 'running' || j === lastEnded);
  };
  const dismiss = (id: string) => {
    shownRef.current = shownRef.current.filter((x) => x !== id);
    setShown(shownRef.current);
  };
  const setParam = (s: StepName) => (k: string, v: unknown) => setParams((p) => ({ ...p, [s]: { ...p[s], [k]: v } }));

  const run = async (s: StepName, chain = false) => {
    const c = chainRef.current;
    const p = given(params[s]);
    const body: Params =
      s === 'embed'
        ? p
        : s === 'umap'
          ? { embedding: c.embedding, ...p }
          : s === 'cluster'
            ? { umap: c.umap, ...p }
            : s === 'label'
              ? { cluster: c.cluster, ...p }
              : { embedding: c.embedding, umap: c.umap, cluster: c.cluster, labels: c.labels, ...p };
    setRunErr((r) => ({ ...r, [s]: undefined }));
    try {
      const j = await startJob(ds, s, body);
      if ((chain || rest[s]) && s !== 'scope') chained.current.add(j.id);
      show([j.id]);
      track(j);
    } catch (e) {
      setRunErr((r) => ({ ...r, [s]: errText(e) }));
    }
  };

  runRef.current = run;

  if (err && !detail)
    return (
      <main class="page-main">
        <p class="error">Could not open {ds}: {err}</p>
        <a href="/">← All datasets</a>
      </main>
    );
  if (!detail || !info) return <p class="page-note muted">Loading…</p>;

  const choose = (key: keyof Chain) => (id: string) => setChain(chooseRun(detail, key, id));
  const card = (a: DatasetFull['artifacts'][number], chosen: boolean, onChoose?: () => void, extra?: preact.ComponentChildren) => (
    <RunCard key={a.id} ds={ds} run={a} chosen={chosen} seconds={seconds(a, jobList)} onChoose={onChoose} onChanged={() => reload()}>
      {extra}
    </RunCard>
  );
  const empty = (text: string) => <p class="muted small gallery-empty">{text}</p>;
  const from = (label: string, id: string | null) =>
    id ? (
      <span class="from small" data-testid="step-input">
        from <code>{id}</code>
      </span>
    ) : (
      <span class="from small muted">no {label} chosen</span>
    );

  /** A link to compare a layout or clustering with the chosen one (else the newest other), when there is another. */
  const compareLink = (what: 'umaps' | 'clusters', id: string) => {
    const all = runsOf(detail, what === 'umaps' ? 'umap' : 'cluster').filter((a) => a.state === 'finished');
    const chosen = what === 'umaps' ? chain.umap : chain.cluster;
    const other = chosen && chosen !== id ? chosen : all.find((a) => a.id !== id)?.id;
    if (!other) return null;
    return (
      <a class="explore-link" href={comparePath(ds, what, id, other)} onClick={(e) => e.stopPropagation()} data-testid="compare-link" title={`Compare ${id} with ${other} (then choose any other on that page)`}>
        Compare →
      </a>
    );
  };
  /** The gallery of a step's runs: a card each (chosen when it is the chain's `key`; `compare`: with a compare link), else `none`. */
  const gallery = (runs: DatasetFull['artifacts'], key: keyof Chain, none: string, compare?: 'umaps' | 'clusters') =>
    runs.length ? runs.map((a) => card(a, a.id === chain[key], choose(key).bind(null, a.id), compare && compareLink(compare, a.id))) : empty(none);
  const embeddings = runsOf(detail, 'embedding');
  const umaps = runsOf(detail, 'umap', chain.embedding);
  const clusters = runsOf(detail, 'cluster', chain.umap);
  const labels = runsOf(detail, 'labels', chain.cluster);
  const scopes = runsOf(detail, 'scope');
  const lastScopeJob = stepJobs('scope').find((j) => j.status === 'done' && j.artifact && scopes.some((s) => s.id === j.artifact));
  const form = (s: StepName) => {
    const F = FORMS[s];
    return <F steps={info} rows={rows} ds={ds} value={params[s]} set={setParam(s)} />;
  };
  const panel = (s: StepName, n: number, input: preact.ComponentChildren, missing: string | null, count: number, gallery: preact.ComponentChildren) => (
    <StepPanel
      key={s}
      step={s}
      n={n}
      input={input}
      missing={missing}
      form={form(s)}
      onRun={() => run(s)}
      rest={s === 'scope' ? undefined : !!rest[s]}
      setRest={(v) => setRest((r) => ({ ...r, [s]: v }))}
      runError={runErr[s] ?? null}
      jobs={stepJobs(s)}
      onDismiss={dismiss}
      onRerun={(j) => show([j.id])}
      count={count}
      highlight={step === s}
    >
      {gallery}
    </StepPanel>
  );

  /**
   * A step run on the run chosen at the step before (`input`: its chain key, its name and article):
   * the input line, what is missing without it, and the gallery of its runs (`plural` names them).
   */
  const chainedPanel = (
    s: StepName,
    n: number,
    input: { key: keyof Chain; name: string; a: 'a' | 'an' },
    runs: DatasetFull['artifacts'],
    key: keyof Chain,
    plural: string,
    compare?: 'umaps' | 'clusters',
  ) => {
    const id = chain[input.key];
    return panel(
      s,
      n,
      from(input.name, id),
      id ? null : `Run or choose ${input.a} ${input.name} first`,
      runs.length,
      gallery(runs, key, id ? `No ${plural} of ${id} yet.` : `No ${plural} yet.`, compare),
    );
  };

  return (
    <main class="page-main setup" data-testid="setup" data-dataset={ds}>
      <div class="page-head">
        <h1>{ds}</h1>
        <span class="muted">
          {rows.toLocaleString('en-US')} rows · text column <code>{detail.meta.text_column}</code>
          {detail.meta.columns.length > 1 && <> · {detail.meta.columns.length} columns</>}
        </span>
        <span class="spacer" />
        <a href={jobsPath(ds)}>Jobs of {ds} →</a>
      </div>
      {err && <p class="error">{err}</p>}
      {panel(
        'embed',
        1,
        <span class="from small">
          from <code>{detail.meta.text_column}</code>
        </span>,
        null,
        embeddings.length,
        gallery(embeddings, 'embedding', 'No embeddings yet: run one.'),
      )}
      {chainedPanel('umap', 2, { key: 'embedding', name: 'embedding', a: 'an' }, umaps, 'umap', 'projections', 'umaps')}
      {chainedPanel('cluster', 3, { key: 'umap', name: 'projection', a: 'a' }, clusters, 'cluster', 'clusterings', 'clusters')}
      {chainedPanel('label', 4, { key: 'cluster', name: 'clustering', a: 'a' }, labels, 'labels', 'labels')}
      {panel(
        'scope',
        5,
        chain.labels ? (
          <span class="from small" data-testid="step-input">
            from <code>{chain.embedding}</code> <code>{chain.umap}</code> <code>{chain.cluster}</code> <code>{chain.labels}</code>
          </span>
        ) : (
          from('labels', null)
        ),
        chain.embedding && chain.umap && chain.cluster && chain.labels ? null : 'Run or choose labels first',
        scopes.length,
        <>
          {lastScopeJob && (
            <div class="ready" data-testid="scope-ready">
              <span>
                Scope <code>{lastScopeJob.artifact}</code> is ready.
              </span>
              <a class="btn primary" href={explorePath(ds, lastScopeJob.artifact!)} data-testid="open-explore">
                Explore it →
              </a>
            </div>
          )}
          {scopes.length
            ? scopes.map((a) =>
                card(
                  a,
                  scopeMatches(a, chain),
                  () => setChain(scopeChain(detail, a)),
                  <a class="explore-link" href={explorePath(ds, a.id)} onClick={(e) => e.stopPropagation()} data-testid="explore-link">
                    Explore →
                  </a>,
                ),
              )
            : empty('No scopes yet.')}
        </>,
      )}
    </main>
  );
}
