import { errorTypeForStatus, type OpenAIErrorBody } from '../errors.ts';

/**
 * Normalises an error body to the OpenAI error object. Bodies that already have that shape (OpenAI,
 * Azure, Mistral, vLLM, most OpenAI-compatible servers) keep their message, type and code, and every
 * other member of the error object as the provider sent it: Azure's content-filter 400 carries
 * `status` and `innererror` (`code: "ResponsibleAIPolicyViolation"`, `content_filter_result` with the
 * category that fired and any blocklist ids), which Azure tells clients to read (the `errorBase` /
 * `innerError` schemas of the Azure OpenAI inference spec, github.com/Azure/azure-rest-api-specs
 * specification/cognitiveservices/data-plane/AzureOpenAI/inference; learn.microsoft.com/azure/ai-services/openai/concepts/content-filter).
 * Anything else (an HTML page from a proxy, plain text) is wrapped with a type that matches the status.
 */
export function openAIErrorFrom(status: number, body: Buffer, provider: string): OpenAIErrorBody {
  const type = errorTypeForStatus(status);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: unknown } | undefined)?.error;
  if (error && typeof error === 'object') {
    const e = error as Record<string, unknown>;
    if (typeof e.message === 'string') {
      // The four OpenAI members first, normalised (Azure sends `"type": null`, some servers a numeric
      // code); the provider's other members follow unchanged.
      const normalised: OpenAIErrorBody['error'] & Record<string, unknown> = {
        message: e.message,
        type: typeof e.type === 'string' ? (e.type as OpenAIErrorBody['error']['type']) : type,
        param: typeof e.param === 'string' ? e.param : null,
        code: typeof e.code === 'string' ? e.code : typeof e.code === 'number' ? String(e.code) : null,
      };
      // (`__proto__` from JSON.parse is an own key; assigned, it would replace the prototype.)
      for (const key of Object.keys(e))
        if (!Object.hasOwn(normalised, key) && key !== '__proto__') normalised[key] = e[key];
      return { error: normalised };
    }
  }
  if (typeof error === 'string') return { error: { message: error, type, param: null, code: null } };
  // vLLM's older ErrorResponse puts the fields at the top level: {"object":"error","message",…}.
  const flat = parsed as Record<string, unknown> | undefined;
  if (flat && typeof flat.message === 'string') {
    return {
      error: {
        message: flat.message,
        type,
        param: typeof flat.param === 'string' ? flat.param : null,
        code: `upstream_${status}`,
      },
    };
  }
  const text = body.toString('utf8', 0, Math.min(body.length, 512)).trim();
  return {
    error: {
      message: `${provider} returned HTTP ${status}${text ? `: ${text}` : ''}`,
      type,
      param: null,
      code: `upstream_${status}`,
    },
  };
}
