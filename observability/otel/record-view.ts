/**
 * What a request record means in GenAI semantic-convention terms, computed once per record and shared by
 * the span and the metrics, so both say the same thing (semconv docs/general/recording-errors.md: "the
 * same value is used as the error.type attribute on spans and metrics").
 */
import type { AttemptRecord, RequestRecord } from '../../analytics/record.ts';
import { ERROR_TYPE_OTHER, operationName, providerName } from './semconv.ts';

/** error.type when a request was cancelled by its client and carries no error code of its own. */
export const ERROR_TYPE_CANCELLED = 'cancelled';

export interface GenAiView {
  operation: string;
  /** `gen_ai.provider.name`; undefined when no backend was chosen (the gateway answered by itself). */
  provider: string | undefined;
  /** The model sent upstream (`resolvedModel`): `gen_ai.request.model`. */
  model: string | undefined;
  /**
   * `gen_ai.response.model`: the model the provider's answer names (`responseModel`, often a dated
   * snapshot), else, for an answer that names none, the model it was asked for.
   */
  responseModel: string | undefined;
  /** The logical model the client asked for. */
  originalModel: string | undefined;
  errorType: string | undefined;
  /** Span status ERROR: the server failed, as opposed to the client (4xx) or the client leaving. */
  serverError: boolean;
  /** A complete answer (status below 400, no error code, not cancelled): the "successful responses" of TTFT/TPOT. */
  succeeded: boolean;
}

export function genAiView(record: RequestRecord): GenAiView {
  return {
    operation: operationName(record.operation),
    provider: record.provider === undefined ? undefined : providerName(record.provider),
    model: record.resolvedModel,
    responseModel: record.responseModel ?? record.resolvedModel,
    originalModel: record.logicalModel,
    errorType: errorType(record),
    // A client that goes away is not a server error (HTTP semconv leaves 4xx, and so 499, unset on
    // SERVER spans); no status at all (0) means the gateway produced no answer, which is.
    serverError: !record.cancelled && (record.status === 0 || record.status >= 500),
    succeeded: !record.cancelled && !record.errorCode && record.status > 0 && record.status < 400,
  };
}

/**
 * The record's error code (the OpenAI-style code the client saw, low cardinality by construction), else
 * `cancelled` for a request whose client went away (it did not complete, so it must not count among the
 * successes of `gen_ai.server.request.duration`, though it is no server error), else the status for a
 * 5xx, else `_OTHER` when there was no status at all. A 4xx without a code is no error of the gateway's.
 */
function errorType(record: RequestRecord): string | undefined {
  if (record.errorCode) return record.errorCode;
  if (record.cancelled) return ERROR_TYPE_CANCELLED;
  if (record.status === 0) return ERROR_TYPE_OTHER;
  if (record.status >= 500) return String(record.status);
  return undefined;
}

/**
 * An attempt is a client call: for HTTP client spans every 4xx and 5xx is an error, and so is no answer
 * (status 0: connect failure, timeout), and an attempt with an error code. Not the upstream's failure: a
 * 499 (the client of the whole request left), nor the last attempt of a cancelled request left without
 * an answer (`cutByClient`: the client went away while it was in flight).
 */
export function attemptErrorType(attempt: AttemptRecord, cutByClient: boolean): string | undefined {
  if (cancelledAttempt(attempt, cutByClient)) return attempt.errorCode ?? ERROR_TYPE_CANCELLED;
  if (attempt.errorCode) return attempt.errorCode;
  if (attempt.status === 0) return ERROR_TYPE_OTHER;
  if (attempt.status >= 400) return String(attempt.status);
  return undefined;
}

export function attemptFailed(attempt: AttemptRecord, cutByClient: boolean): boolean {
  if (cancelledAttempt(attempt, cutByClient)) return false;
  return attempt.status === 0 || attempt.status >= 400 || attempt.errorCode !== undefined;
}

function cancelledAttempt(attempt: AttemptRecord, cutByClient: boolean): boolean {
  return attempt.status === 499 || (cutByClient && attempt.status === 0);
}
