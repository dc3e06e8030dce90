/**
 * The form for one route entry, to add (index past the end) or edit. What the form itself can check
 * (numbers, the match JSON) is reported here with the entry's field path; everything else is the
 * preview's validation.
 */
import { useState } from 'preact/hooks';
import type { RouteConfigSpec } from '../api/types.ts';
import { ProblemList } from '../components/error-box.tsx';
import { TextField } from '../components/field.tsx';
import {
  EMPTY_ENTRY,
  type EntryForm,
  entryToForm,
  type FormProblem,
  formToEntry,
  withEntry,
} from '../routing/spec-edit.ts';

const TEXT_FIELDS: readonly {
  field: Exclude<keyof EntryForm, 'backendKind'>;
  label: string;
  placeholder: string;
}[] = [
  { field: 'name', label: 'Entry name', placeholder: 'chat-v3' },
  { field: 'model', label: 'Logical name', placeholder: 'chat-model' },
  { field: 'modelNameOverride', label: 'Resolved model', placeholder: 'gpt-4o (the provider model id)' },
  { field: 'backend', label: 'Backend', placeholder: 'openai' },
  { field: 'weight', label: 'Weight', placeholder: '1' },
  { field: 'priority', label: 'Priority', placeholder: '0 (lower is preferred)' },
  {
    field: 'match',
    label: 'Match condition (JSON)',
    placeholder: '{"headers":[{"name":"x-tier","value":"gold"}]}',
  },
];

export function EntryEditor(props: {
  spec: RouteConfigSpec;
  index: number;
  onApply: (spec: RouteConfigSpec) => void;
  onCancel: () => void;
}) {
  const base = props.spec.routes[props.index];
  const [form, setForm] = useState<EntryForm>(base ? entryToForm(base) : EMPTY_ENTRY);
  const [problems, setProblems] = useState<FormProblem[]>([]);
  const path = `spec.routes[${props.index}]`;
  const apply = (event: Event) => {
    event.preventDefault();
    const result = formToEntry(form, base, path);
    if ('problems' in result) setProblems(result.problems);
    else props.onApply(withEntry(props.spec, props.index, result.entry));
  };
  return (
    <form class="entry-editor" onSubmit={apply} aria-labelledby="entry-editor-title">
      <h2 id="entry-editor-title">{base ? `Edit entry ${base.name}` : 'Add an entry'}</h2>
      {TEXT_FIELDS.map((f) => (
        <TextField
          key={f.field}
          id={`entry-${f.field}`}
          label={f.label}
          value={form[f.field]}
          placeholder={f.placeholder}
          onInput={(value) => setForm({ ...form, [f.field]: value })}
        />
      ))}
      <div class="field">
        <label for="entry-backend-kind">Backend kind</label>
        <select
          id="entry-backend-kind"
          value={form.backendKind}
          onChange={(e) =>
            setForm({
              ...form,
              backendKind: (e.currentTarget as HTMLSelectElement).value as EntryForm['backendKind'],
            })
          }
        >
          <option value="ProviderBackend">ProviderBackend</option>
          <option value="InferencePool">InferencePool</option>
        </select>
      </div>
      <div role={problems.length > 0 ? 'alert' : undefined}>
        <ProblemList problems={problems} />
      </div>
      <div class="actions">
        <button type="submit">{base ? 'Apply to draft' : 'Add to draft'}</button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
