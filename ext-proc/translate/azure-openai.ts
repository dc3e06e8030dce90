/**
 * Azure OpenAI: the OpenAI API behind Azure's paths and key header. Bodies and responses are the
 * OpenAI ones, so a request only changes path, credentials and `model`; responses pass through and
 * errors (content-filter 400s included) are already OpenAI-shaped.
 *
 * Two path forms, chosen by the backend's `apiVersion`:
 * - a dated version (default DEFAULT_API_VERSION): `{base}/openai/deployments/{deployment}/{op}?api-version=…`,
 *   where the deployment is the provider model id (modelNameOverride names the deployment);
 * - `v1`: `{base}/openai/v1/{op}` with no api-version, the deployment named by `model` in the body.
 * The base URL is the resource endpoint (https://<resource>.openai.azure.com); one that already ends in
 * `/openai` or `/openai/v1` (as the OpenAI SDK's Azure docs write it) is understood, the latter as `v1`.
 * The api-version also decides which OpenAI request fields the service accepts; they are passed as sent.
 */
import { errors } from '../errors.ts';
import { openAIBody, openAIPath } from './openai.ts';
import { openAIErrorFrom } from './openai-error.ts';
import { apiKeyOf, type Translator, type UpstreamRequest, type UpstreamRequestInput } from './translator.ts';

/**
 * Latest GA data-plane inference version with dated paths (learn.microsoft.com/azure/ai-foundry/openai/reference;
 * github.com/Azure/azure-rest-api-specs specification/cognitiveservices/data-plane/AzureOpenAI/inference/stable/2024-10-21).
 */
export const DEFAULT_API_VERSION = '2024-10-21';

/** `apiVersion` value selecting the v1 API (learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle). */
export const V1_API_VERSION = 'v1';

/**
 * Azure takes the key in `api-key` (securitySchemes.apiKey of the 2024-10-21 inference spec); the
 * client's `authorization` carries the gateway key, and other providers' key headers must not leak.
 */
const FOREIGN_AUTH_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key'];
const API_KEY_HEADER = 'api-key';

/**
 * Whether the backend's api-version takes `stream_options`: Azure added it with 2024-08-01-preview
 * (before, "stream_options" is refused; openai/openai-dotnet#103, spring-projects/spring-ai#1724), and
 * the v1 API has it. Older versions get their streams as the client wrote them.
 */
function takesStreamOptions(apiVersion: string | undefined): boolean {
  const version = apiVersion ?? DEFAULT_API_VERSION;
  return version === V1_API_VERSION || version >= '2024-08-01';
}

function upstreamPath(input: UpstreamRequestInput): string {
  const { basePath, apiVersion } = input.backend;
  const operation = openAIPath(input.operation, 'Azure OpenAI backend');
  // The Responses API is served on the v1 path only (learn.microsoft.com/azure/ai-foundry/openai/how-to/responses).
  if (input.operation === 'responses' && apiVersion !== V1_API_VERSION && !basePath.endsWith('/openai/v1'))
    throw errors.invalidBody(
      `The Azure OpenAI backend "${input.backend.id}" uses dated api-version paths; /v1/responses needs its spec.apiVersion set to "v1".`,
    );
  if (basePath.endsWith('/openai/v1')) return basePath + operation;
  const prefix = basePath.endsWith('/openai') ? basePath : `${basePath}/openai`;
  if (apiVersion === V1_API_VERSION) return `${prefix}/v1${operation}`;
  const version = encodeURIComponent(apiVersion ?? DEFAULT_API_VERSION);
  return `${prefix}/deployments/${encodeURIComponent(input.model)}${operation}?api-version=${version}`;
}

export function azureOpenAITranslator(): Translator {
  return {
    convertsResponses: false,
    // Every documented response carries it (responses.*.headers of the 2024-10-21 inference spec).
    requestIdHeader: 'apim-request-id',
    request(input: UpstreamRequestInput): UpstreamRequest {
      const headers: [string, string][] = [['content-type', 'application/json']];
      const removeHeaders = [...FOREIGN_AUTH_HEADERS];
      const key = apiKeyOf(input.credential);
      if (key) headers.push([API_KEY_HEADER, key]);
      else removeHeaders.push(API_KEY_HEADER);
      const askUsage = input.backend.streamUsage !== false && takesStreamOptions(input.backend.apiVersion);
      const body = openAIBody(input, askUsage);
      return { path: upstreamPath(input), headers, removeHeaders, body };
    },
    responseBody: (body) => body,
    createStream: () => ({ chunk: () => undefined }),
    error: (status, body) => openAIErrorFrom(status, body, 'Azure OpenAI'),
  };
}
