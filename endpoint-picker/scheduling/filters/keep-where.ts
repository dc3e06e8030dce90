import type { PodState } from '../types.ts';

/**
 * The pods for which `keep` holds, in order; `pods` itself when that is all of them, so the common case
 * (nothing to remove) allocates nothing and downstream plugins see a stable array.
 */
export function keepWhere(pods: readonly PodState[], keep: (pod: PodState) => boolean): readonly PodState[] {
  let i = 0;
  while (i < pods.length && keep(pods[i]!)) i++;
  if (i === pods.length) return pods;
  const kept = pods.slice(0, i);
  for (i++; i < pods.length; i++) if (keep(pods[i]!)) kept.push(pods[i]!);
  return kept;
}
