// The settings page (`/settings`): which API keys are set (names only: the
// server never sends a value back), a key entered here is saved by the server
// to its config file (~/.config/latentscope/.env); the endpoints of
// OpenAI-compatible servers; the data directory; the models this build runs.
import { useEffect, useState } from 'preact/hooks';
import { versionInfo } from '../store';
import { errText, models as getModels, saveSetting, settings as getSettings, type Choice, type Models, type SettingEntry, type Settings } from '../setupApi';
import { PageBar, ReadOnlyNote } from './Nav';

export function SettingsPage() {
  const v = versionInfo.value;
  useEffect(() => {
    document.title = 'Settings · latentscope';
  }, []);
  return (
    <div class="page">
      <PageBar active="settings" />
      {!v ? <p class="page-note muted">Loading…</p> : v.read_only ? <ReadOnlyNote what="the settings page" /> : <SettingsBody />}
    </div>
  );
}

const source = (e: SettingEntry) => (e.source === 'environment' ? 'from the environment' : e.source === 'file' ? 'from the config file' : e.source ? `from ${e.source}` : '');

function SettingsBody() {
  const [s, setS] = useState<Settings | null>(null);
  const [m, setM] = useState<Models | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    getSettings().then(setS, (e) => setErr(errText(e)));
    getModels().then(setM, () => {});
  }, []);
  const save = async (name: string, value: string | null) => {
    setErr(null);
    setSaved(null);
    try {
      setS(await saveSetting(name, value));
      setSaved(value ? `${name} saved` : `${name} removed`);
      return true;
    } catch (e) {
      setErr(`${name}: ${errText(e)}`);
      return false;
    }
  };
  if (!s)
    return (
      <main class="page-main">
        {err ? <p class="error">Could not read the settings: {err}</p> : <p class="muted">Loading…</p>}
      </main>
    );
  return (
    <main class="page-main settings" data-testid="settings">
      <div class="page-head">
        <h1>Settings</h1>
        {saved && (
          <span class="saved small" data-testid="settings-saved">
            ✓ {saved}
          </span>
        )}
      </div>
      {err && (
        <p class="error" data-testid="settings-error">
          {err}
        </p>
      )}
      {!s.writable && (
        <p class="note" data-testid="settings-locked">
          Settings can be changed only from the machine the server runs on (a server listening on a loopback address). They are shown here, not editable.
        </p>
      )}

      <section class="card-section">
        <h2>API keys</h2>
        <p class="muted small">
          Keys for hosted embedders and labelers. The server only says whether each is set; it never sends a value back. A key entered here is saved in{' '}
          <code>{s.config_file}</code> (not in the data directory).
        </p>
        <div class="settings-list" data-testid="keys">
          {s.keys.map((k) => (
            <KeyRow key={k.name} entry={k} writable={s.writable} save={save} />
          ))}
        </div>
      </section>

      <section class="card-section">
        <h2>OpenAI-compatible endpoints</h2>
        <p class="muted small">Servers that speak the OpenAI API (LM Studio, Ollama, vLLM, …) for embedding and labelling.</p>
        <div class="settings-list" data-testid="endpoints">
          {s.endpoints.map((e) => (
            <EndpointRow key={e.name} entry={e} writable={s.writable} save={save} />
          ))}
        </div>
        {s.writable && <NewEndpoint save={save} />}
      </section>

      <section class="card-section">
        <h2>Where things are</h2>
        <dl class="paths">
          <dt>Data directory</dt>
          <dd>
            <code data-testid="data-dir">{s.data_dir}</code>
          </dd>
          <dt>Config file</dt>
          <dd>
            <code data-testid="config-file">{s.config_file}</code>
          </dd>
        </dl>
      </section>

      {m && (
        <section class="card-section">
          <h2>Models this build can run</h2>
          <div class="model-cols">
            <ModelList title="Embedders" list={m.embedders} />
            <ModelList title="Labelers" list={m.labelers} />
          </div>
        </section>
      )}
    </main>
  );
}

function KeyRow({ entry, writable, save }: { entry: SettingEntry; writable: boolean; save: (n: string, v: string | null) => Promise<boolean> }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!value) return;
    setBusy(true);
    if (await save(entry.name, value)) setValue('');
    setBusy(false);
  };
  return (
    <form class="setting-row" data-testid="key-row" data-key={entry.name} data-set={entry.set ? 'true' : 'false'} onSubmit={submit}>
      <code class="setting-name">{entry.name}</code>
      <span class={`key-state ${entry.set ? 'set' : ''}`} data-testid="key-state">
        {entry.set ? <>✓ set {source(entry)}</> : 'not set'}
      </span>
      {writable && (
        <span class="setting-edit">
          <input
            type="password"
            autocomplete="off"
            spellcheck={false}
            name={entry.name}
            value={value}
            placeholder={entry.set ? 'replace the key' : 'paste the key'}
            aria-label={`${entry.name} value`}
            data-testid="key-input"
            onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          />
          <button class="btn primary" type="submit" disabled={busy || !value} data-write="key-save" data-testid="key-save">
            Save
          </button>
          {entry.set && entry.source === 'file' && (
            <button class="btn" type="button" disabled={busy} data-write="key-remove" data-testid="key-remove" onClick={() => save(entry.name, null)}>
              Remove
            </button>
          )}
        </span>
      )}
    </form>
  );
}

function EndpointRow({ entry, writable, save }: { entry: SettingEntry; writable: boolean; save: (n: string, v: string | null) => Promise<boolean> }) {
  const [value, setValue] = useState(entry.value ?? '');
  useEffect(() => setValue(entry.value ?? ''), [entry.value]);
  const submit = (e: Event) => {
    e.preventDefault();
    save(entry.name, value.trim() || null);
  };
  return (
    <form class="setting-row endpoint" data-testid="endpoint-row" data-endpoint={entry.name} onSubmit={submit}>
      <code class="setting-name">{entry.name}</code>
      {writable ? (
        <span class="setting-edit">
          <input type="url" value={value} placeholder="http://localhost:1234/v1" aria-label={`${entry.name} URL`} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
          <button class="btn" type="submit" disabled={value === (entry.value ?? '')} data-write="endpoint-save">
            Save
          </button>
        </span>
      ) : (
        <span class="muted">{entry.value ?? 'not set'}</span>
      )}
      <span class="muted small">{source(entry)}</span>
    </form>
  );
}

function NewEndpoint({ save }: { save: (n: string, v: string | null) => Promise<boolean> }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const submit = async (e: Event) => {
    e.preventDefault();
    const n = name.trim().toUpperCase().replace(/[^A-Z0-9_]/g, '_');
    if (!n || !url.trim()) return;
    if (await save(`LATENTSCOPE_ENDPOINT_${n}`, url.trim())) {
      setName('');
      setUrl('');
    }
  };
  return (
    <form class="setting-row new" onSubmit={submit} data-testid="endpoint-new">
      <span class="setting-name">
        <code>LATENTSCOPE_ENDPOINT_</code>
        <input value={name} placeholder="LMSTUDIO" aria-label="Endpoint name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </span>
      <span class="setting-edit">
        <input type="url" value={url} placeholder="http://localhost:1234/v1" aria-label="Endpoint URL" onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        <button class="btn" type="submit" disabled={!name.trim() || !url.trim()} data-write="endpoint-add">
          Add endpoint
        </button>
      </span>
    </form>
  );
}

function ModelList({ title, list }: { title: string; list: Choice[] }) {
  return (
    <div>
      <h3>{title}</h3>
      <ul class="model-list">
        {list.map((c) => (
          <li key={c.name} class={c.available ? '' : 'unavailable'}>
            <code>{c.name}</code> {c.available ? <span class="ok small">available</span> : <span class="muted small">{c.reason ?? 'not available'}</span>}
            <div class="muted small">{c.description}</div>
          </li>
        ))}
      </ul>
    </div>
  );
}
