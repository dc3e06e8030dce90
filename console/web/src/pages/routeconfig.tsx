/**
 * One RouteConfig, edited as a draft: the entries table (logical name, resolved model, backend, weight,
 * priority, match), what each logical name does, edit/add/remove entries and the Active toggle. Saving is
 * two steps: "Review changes" sends the draft to POST …/preview — the same validation file and
 * Kubernetes mode apply — and shows its problems with field paths, or the diff; only a valid, reviewed
 * draft can be saved (PUT with the version it was read at; 409 when someone saved in between). Canary
 * stages and "remove the old route" act on the saved configuration through their own endpoints; the
 * automated rollouts' state is shown beside them.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, segment, send } from '../api/client.ts';
import type { Preview, Problem, RouteConfigDetail, RouteConfigSpec, Session } from '../api/types.ts';
import { Conditions } from '../components/conditions.tsx';
import { ErrorBox, ProblemList } from '../components/error-box.tsx';
import { Link } from '../components/link.tsx';
import { useApi } from '../components/use-api.ts';
import { describeMatch, isActive, withActive, withoutEntry } from '../routing/spec-edit.ts';
import { describePlan, logicalModels, planOf } from '../routing/strategy.ts';
import { CanaryControls } from './canary-controls.tsx';
import { EntryEditor } from './entry-editor.tsx';
import { RolloutsPanel } from './rollouts-panel.tsx';

export function RouteConfigPage({ name, session }: { name: string; session: Session }) {
  const saved = useApi(() => get<RouteConfigDetail>(`routeconfigs/${segment(name)}`), [name]);
  const [draft, setDraft] = useState<RouteConfigSpec | undefined>(undefined);
  const [editing, setEditing] = useState<number | undefined>(undefined);
  const [preview, setPreview] = useState<Preview | undefined>(undefined);
  const [reviewed, setReviewed] = useState<RouteConfigSpec | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [message, setMessage] = useState('');
  const readOnly = session.readOnly;

  useEffect(() => {
    if (saved.data) {
      setDraft(saved.data.spec);
      setPreview(undefined);
      setReviewed(undefined);
    }
  }, [saved.data]);

  const detail = saved.data;
  if (detail === undefined || draft === undefined)
    return (
      <main id="main" aria-labelledby="page-title">
        <h1 id="page-title">RouteConfig {name}</h1>
        <ErrorBox error={saved.error} />
        {saved.loading ? <p class="status">Loading…</p> : null}
      </main>
    );

  const changed = JSON.stringify(draft) !== JSON.stringify(detail.spec);
  const edit = (spec: RouteConfigSpec) => {
    setDraft(spec);
    setPreview(undefined);
    setReviewed(undefined);
    setMessage('');
  };
  const review = async () => {
    setError(undefined);
    try {
      const p = await send<Preview>('POST', `routeconfigs/${segment(name)}/preview`, { spec: draft });
      setPreview(p);
      setReviewed(p.valid ? draft : undefined);
    } catch (e) {
      setError(e);
    }
  };
  const save = async () => {
    if (reviewed === undefined) return;
    setError(undefined);
    try {
      await send('PUT', `routeconfigs/${segment(name)}`, { spec: reviewed, version: detail.version });
      setMessage('Saved. The configuration source applies it now.');
      saved.reload();
    } catch (e) {
      // A field another manager owns (source_conflict) keeps the API server's message, which names it.
      if (e instanceof ApiError && e.code === 'version_conflict')
        setError(
          new Error(
            'Someone changed this RouteConfig since it was loaded. Reload it and make the edit again.',
          ),
        );
      else setError(e);
      if (e instanceof ApiError && e.problems.length > 0)
        setPreview({ valid: false, problems: e.problems, diff: preview?.diff ?? '' });
    }
  };

  return (
    <main id="main" aria-labelledby="page-title">
      <p>
        <Link href="/routing">All RouteConfigs</Link>
      </p>
      <h1 id="page-title">RouteConfig {name}</h1>
      <div class="field toggle">
        <input
          id="rc-active"
          type="checkbox"
          role="switch"
          aria-checked={isActive(draft)}
          checked={isActive(draft)}
          disabled={readOnly}
          onChange={(e) => edit(withActive(draft, (e.currentTarget as HTMLInputElement).checked))}
        />
        <label for="rc-active">Active</label>
      </div>
      {readOnly ? (
        <p class="note">This console is read-only: change routing in the configuration source.</p>
      ) : null}
      <Conditions status={detail} of={`RouteConfig ${name}`} />

      <h2>Logical names</h2>
      {logicalModels(draft.routes).map((model) => {
        const plan = planOf(draft.routes, model);
        return (
          <section key={model} class="logical" aria-labelledby={`model-${model}`}>
            <h3 id={`model-${model}`}>
              {model} <span class="badge">{plan.strategy}</span>
            </h3>
            <ul>
              {describePlan(plan).map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
            {readOnly ? null : (
              <CanaryControls
                routeConfig={name}
                model={model}
                saved={detail}
                unsaved={changed}
                onDone={(text) => {
                  setMessage(text);
                  saved.reload();
                }}
              />
            )}
          </section>
        );
      })}

      <RolloutsPanel
        routeConfig={name}
        onWeightsMoved={() => {
          // The controller wrote new weights: show them, unless that would throw away an edit (saving
          // it would then meet the version conflict and say so).
          if (changed)
            setMessage(
              'The rollout controller changed the weights since this page loaded: reload to see them.',
            );
          else saved.reload();
        }}
      />

      <h2>Route entries</h2>
      <div class="table-wrap">
        <table class="entries">
          <caption class="visually-hidden">Route entries of {name}, in order</caption>
          <thead>
            <tr>
              <th scope="col">Entry</th>
              <th scope="col">Logical name</th>
              <th scope="col">Resolved model</th>
              <th scope="col">Backend</th>
              <th scope="col">Weight</th>
              <th scope="col">Priority</th>
              <th scope="col">Match</th>
              {readOnly ? null : (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {draft.routes.map((r, i) => (
              <tr key={r.name}>
                <th scope="row">{r.name}</th>
                <td>{r.model}</td>
                <td>{r.modelNameOverride ?? r.model}</td>
                <td>
                  {r.backendRef.name}
                  {r.backendRef.kind === 'InferencePool' ? ' (InferencePool)' : ''}
                </td>
                <td>{r.weight ?? 1}</td>
                <td>{r.priority ?? 0}</td>
                <td>{describeMatch(r.match)}</td>
                {readOnly ? null : (
                  <td>
                    <div class="row-actions">
                      <button type="button" aria-label={`Edit entry ${r.name}`} onClick={() => setEditing(i)}>
                        Edit
                      </button>
                      <button
                        type="button"
                        aria-label={`Remove entry ${r.name}`}
                        onClick={() => edit(withoutEntry(draft, i))}
                      >
                        Remove
                      </button>
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {readOnly ? null : (
        <>
          {editing === undefined ? (
            <button type="button" onClick={() => setEditing(draft.routes.length)}>
              Add an entry
            </button>
          ) : (
            <EntryEditor
              spec={draft}
              index={editing}
              onApply={(spec) => {
                edit(spec);
                setEditing(undefined);
              }}
              onCancel={() => setEditing(undefined)}
            />
          )}
          <section class="save" aria-labelledby="save-title">
            <h2 id="save-title">Save</h2>
            <p class="status" aria-live="polite">
              {changed ? 'The draft differs from the saved configuration.' : 'No unsaved changes.'} {message}
            </p>
            <div class="actions">
              <button type="button" disabled={!changed} onClick={review}>
                Review changes
              </button>
              <button type="button" disabled={reviewed === undefined || reviewed !== draft} onClick={save}>
                Save changes
              </button>
              <button type="button" disabled={!changed} onClick={() => edit(detail.spec)}>
                Discard changes
              </button>
            </div>
            {preview ? <PreviewView preview={preview} /> : null}
            <ErrorBox error={error} />
          </section>
        </>
      )}
    </main>
  );
}

function PreviewView({ preview }: { preview: Preview }) {
  return (
    <div class="preview">
      {preview.valid ? (
        <p role="status">Valid. The change, as it will be written:</p>
      ) : (
        <div role="alert">
          <p>Not saved: the configuration would be invalid.</p>
          <ProblemList problems={preview.problems as Problem[]} />
        </div>
      )}
      {preview.diff ? <DiffView diff={preview.diff} /> : null}
    </div>
  );
}

function DiffView({ diff }: { diff: string }) {
  return (
    <figure class="diff">
      <figcaption>Diff of the change</figcaption>
      <pre>
        {diff.split('\n').map((line, i) => (
          <span key={i} class={line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : undefined}>
            {line}
            {'\n'}
          </span>
        ))}
      </pre>
    </figure>
  );
}
