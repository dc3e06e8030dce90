/**
 * Canary stage buttons of one logical name with exactly two split variants: 95/5 → 80/20 → 50/50 →
 * 0/100 (POST …/canary), then "remove the old route" after cutover (POST …/remove-old). Each asks for
 * confirmation with the weights before and after, and acts on the saved configuration at the version it
 * was read at, so they are off while the page holds unsaved edits.
 */
import { useState } from 'preact/hooks';
import { segment, send } from '../api/client.ts';
import type { CanaryStage, RouteConfigDetail } from '../api/types.ts';
import { ErrorBox } from '../components/error-box.tsx';
import { CANARY_STAGES, canaryPair, stageLabel } from '../routing/canary.ts';

type Pending = { kind: 'stage'; stage: CanaryStage } | { kind: 'remove-old' };

export function CanaryControls(props: {
  routeConfig: string;
  model: string;
  saved: RouteConfigDetail;
  unsaved: boolean;
  onDone: (message: string) => void;
}) {
  const [pending, setPending] = useState<Pending | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const pair = canaryPair(props.saved.spec.routes, props.model);
  if (pair === undefined) return null;
  const { stable, canary } = pair;
  const run = async (p: Pending) => {
    setError(undefined);
    try {
      const base = `routeconfigs/${segment(props.routeConfig)}`;
      if (p.kind === 'stage')
        await send('POST', `${base}/canary`, {
          logicalModel: props.model,
          stage: p.stage,
          version: props.saved.version,
        });
      else
        await send('POST', `${base}/remove-old`, { logicalModel: props.model, version: props.saved.version });
      setPending(undefined);
      props.onDone(
        p.kind === 'stage'
          ? `${props.model}: ${stable.name} ${100 - p.stage}%, ${canary.name} ${p.stage}%.`
          : `${props.model}: ${stable.name} removed.`,
      );
    } catch (e) {
      setError(e);
    }
  };
  return (
    <fieldset class="canary">
      <legend>
        Canary of {props.model}: {stable.name} (stable) / {canary.name} (canary), now{' '}
        {100 - pair.canaryPercent}/{pair.canaryPercent}
        {props.unsaved ? ' — save or discard the draft first' : ''}
      </legend>
      <div class="actions">
        {CANARY_STAGES.map((stage) => (
          <button
            type="button"
            key={stage}
            disabled={props.unsaved || stage === pair.stage}
            aria-current={stage === pair.stage ? 'step' : undefined}
            aria-label={`Canary stage ${stageLabel(stage)}: ${stable.name} ${100 - stage}%, ${canary.name} ${stage}%`}
            onClick={() => setPending({ kind: 'stage', stage })}
          >
            {stageLabel(stage)}
          </button>
        ))}
        <button
          type="button"
          disabled={props.unsaved || pair.stage !== 100}
          onClick={() => setPending({ kind: 'remove-old' })}
        >
          Remove the old route ({stable.name})
        </button>
      </div>
      {pending ? (
        <div class="confirm">
          <p>
            {pending.kind === 'stage'
              ? `Change weights: ${stable.name} ${stable.weight ?? 1} → ${100 - pending.stage}, ${canary.name} ${canary.weight ?? 1} → ${pending.stage}.`
              : `Delete route entry ${stable.name}; ${canary.name} keeps all of ${props.model}'s split traffic.`}
          </p>
          <button type="button" onClick={() => run(pending)}>
            Confirm
          </button>
          <button type="button" onClick={() => setPending(undefined)}>
            Cancel
          </button>
        </div>
      ) : null}
      <ErrorBox error={error} />
    </fieldset>
  );
}
