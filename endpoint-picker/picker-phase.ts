/**
 * The endpoint picker's ext_proc phases: read the request (model, prompt, subset hint, session token),
 * ask the scheduler, answer with the destination header and `envoy.lb` metadata, or an immediate 503/429;
 * on the response, learn which endpoint served and hand the client its session token.
 */
import { AgentRouterError, errors } from '../ext-proc/errors.ts';
import {
  type HttpHead,
  type MetadataReader,
  NO_CHANGE,
  type PhaseResult,
  type Phases,
  type StreamOutcome,
} from '../ext-proc/phases.ts';
import {
  DESTINATION_ENDPOINT_HEADER,
  DESTINATION_METADATA_NAMESPACE,
  PICKER_SCORES_NAMESPACE,
  PRIORITY_HEADER,
  SERVED_ENDPOINT_KEY,
  SUBSET_HINT_KEY,
  SUBSET_HINT_NAMESPACE,
} from './protocol.ts';
import { pickerScoresMetadata } from './scheduling/explain.ts';
import { SESSION_TOKEN_HEADER, sessionTokenFor } from './scheduling/scorers/session-affinity.ts';
import type { PickResult, PodState, SchedulingRequest } from './scheduling/types.ts';

export interface PickerContext {
  /** Ready endpoints with their latest metrics. */
  pods(): readonly PodState[];
  schedule(request: SchedulingRequest, pods: readonly PodState[]): PickResult;
  onDecision(result: PickResult, request: SchedulingRequest, micros: number): void;
}

/** The text the prefix index sees: a completion's prompt, or a chat's messages in order. */
export function promptText(body: Record<string, unknown>): string {
  if (typeof body.prompt === 'string') return body.prompt;
  if (Array.isArray(body.prompt)) return body.prompt.filter((p) => typeof p === 'string').join('\n');
  if (!Array.isArray(body.messages)) return '';
  let text = '';
  for (const m of body.messages as { role?: unknown; content?: unknown }[]) {
    text += `<${String(m.role)}>`;
    if (typeof m.content === 'string') text += m.content;
    else if (Array.isArray(m.content))
      for (const part of m.content as { text?: unknown }[])
        if (typeof part.text === 'string') text += part.text;
    text += '\n';
  }
  return text;
}

export class PickerPhases implements Phases {
  #headers: Record<string, string> = {};
  #subset: string[] | undefined;
  #requestId = '';
  #picked: PodState | undefined;
  #pods: readonly PodState[] = [];

  constructor(private readonly context: PickerContext) {}

  requestHeaders(head: HttpHead, endOfStream: boolean, metadata: MetadataReader): PhaseResult {
    for (const name of head.names()) this.#headers[name] = head.get(name)!;
    this.#requestId = this.#headers['x-request-id'] ?? '';
    const hint = metadata(SUBSET_HINT_NAMESPACE)?.[SUBSET_HINT_KEY];
    if (hint !== undefined) {
      this.#subset = Array.isArray(hint)
        ? hint.map(String)
        : String(hint)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
    }
    return endOfStream ? this.#pick({}) : { needsBody: true };
  }

  requestBody(body: Buffer): PhaseResult {
    let parsed: unknown;
    try {
      parsed = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw errors.malformedJson((error as Error).message);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw errors.invalidBody('The request body must be a JSON object.');
    return this.#pick(parsed as Record<string, unknown>);
  }

  #pick(body: Record<string, unknown>): PhaseResult {
    const priority = Number(this.#headers[PRIORITY_HEADER] ?? 0);
    const request: SchedulingRequest = {
      requestId: this.#requestId,
      model: typeof body.model === 'string' ? body.model : '',
      prompt: promptText(body),
      priority: Number.isFinite(priority) ? priority : 0,
      subset: this.#subset,
      headers: this.#headers,
    };
    const started = performance.now();
    this.#pods = this.context.pods();
    const result = this.context.schedule(request, this.#pods);
    this.context.onDecision(result, request, (performance.now() - started) * 1000);
    if (result.kind !== 'picked') {
      throw new AgentRouterError(
        result.status,
        result.status === 429 ? 'rate_limit_error' : 'api_error',
        result.kind === 'shed' ? 'inference_pool_saturated' : 'no_ready_endpoint',
        result.message,
      );
    }
    this.#picked = this.#pods.find((p) => p.name === result.primary);
    const endpoints = result.endpoints.join(',');
    // The protocol requires header and metadata to carry the same value.
    return {
      setHeaders: [[DESTINATION_ENDPOINT_HEADER, endpoints]],
      dynamicMetadata: {
        [DESTINATION_METADATA_NAMESPACE]: { [DESTINATION_ENDPOINT_HEADER]: endpoints },
        [PICKER_SCORES_NAMESPACE]: pickerScoresMetadata(result) as unknown as Record<string, unknown>,
      },
    };
  }

  responseHeaders(_head: HttpHead, _endOfStream: boolean, metadata: MetadataReader): PhaseResult {
    const served = metadata(DESTINATION_METADATA_NAMESPACE)?.[SERVED_ENDPOINT_KEY];
    const pod =
      typeof served === 'string'
        ? (this.#pods.find((p) => p.address === served) ?? this.#picked)
        : this.#picked;
    if (!pod) return NO_CHANGE;
    // Session affinity without shared state: the client carries its pod back in this token.
    return { setHeaders: [[SESSION_TOKEN_HEADER, sessionTokenFor(pod)]] };
  }

  responseBody(): PhaseResult {
    return NO_CHANGE;
  }

  responseChunk(): Buffer | undefined {
    return undefined;
  }

  finish(_outcome: StreamOutcome): void {}
}
