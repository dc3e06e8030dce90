/**
 * A failure injected into a running model server (tests, chaos drills). Set with `ModelServer.setFault`.
 *
 * Without `afterTokens`, every OpenAI API request (`/v1/...`) is answered with `status` and an OpenAI error
 * body; `/health` and `/metrics` keep working so the harness can still observe the server.
 * With `afterTokens`, streamed chat completions start normally and the socket is destroyed after that many
 * content tokens (a broken upstream stream); requests that do not stream are answered with `status`.
 */
export interface Fault {
  readonly status: number;
  /** Message of the OpenAI error body; a generic one names the status when absent. */
  readonly message?: string;
  readonly afterTokens?: number;
}
