/** What the API said went wrong, with the field paths of validation problems, announced to screen readers. */
import { ApiError } from '../api/client.ts';
import type { Problem } from '../api/types.ts';

export function ProblemList({ problems }: { problems: readonly Problem[] }) {
  if (problems.length === 0) return null;
  return (
    <ul class="problems">
      {problems.map((p) => (
        <li key={`${p.path}:${p.message}`}>
          <code>{p.path}</code>: {p.message}
        </li>
      ))}
    </ul>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const message = error instanceof Error ? error.message : String(error);
  const problems = error instanceof ApiError ? error.problems : [];
  const status = error instanceof ApiError ? `${error.status}${error.code ? ` ${error.code}` : ''}: ` : '';
  return (
    <div class="error" role="alert">
      <p>
        {status}
        {message}
      </p>
      <ProblemList problems={problems} />
    </div>
  );
}
