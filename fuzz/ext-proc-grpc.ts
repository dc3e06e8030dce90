/**
 * Fuzz target: gRPC straight into ext-proc, as a misbehaving Envoy would send it. Each case opens one
 * `ExternalProcessor/Process` stream at the router or the per-attempt level and sends a drawn sequence:
 * a plausible exchange (protocol_config, request headers, body chunks, trailers, response headers and
 * body in a provider's format) that is then bent — phases reordered, messages duplicated or dropped,
 * `end_of_stream` missing, bodies empty, over the limit or not JSON, protocol_config random and repeated,
 * metadata_context random, observability_mode set, bytes that are no ProcessingRequest at all — and
 * ends by half-closing, by cancelling, or by cutting the stream after any message.
 *
 * Invariants, per case:
 * - every message ext-proc sends decodes as a ProcessingResponse that passes Envoy's proto rules (the
 *   PGV subset of envoy-config/proto-check.ts: e.g. an ImmediateResponse status Envoy's StatusCode enum
 *   defines, header names and values Envoy accepts);
 * - answers come in the order of the messages they answer, each of the same phase (or one
 *   immediate_response, after which nothing follows), never more answers than messages;
 * - the stream ends OK, or with a clean gRPC status: never UNKNOWN (a handler that threw), never a
 *   JavaScript failure in the details;
 * - an immediate response is in the OpenAI error shape, never `internal_error` (which is a bug by
 *   definition), never with a JavaScript failure's text;
 * - no gateway key in any answer; a provider credential only where the per-attempt phase injects it
 *   (the credential headers of its request-headers/body answers), never in a response-phase answer, even
 *   when the drawn provider error quotes it, and never in a log line;
 * - the model that would go upstream is the decided one: a router-level decision names an entry of the
 *   logical model the body names and that entry's resolved model; a per-attempt body or path names the
 *   resolved model of the fallback candidate for the attempt.
 * Once the run is over: no Process stream left open (the `agent_router_ext_proc_streams` gauge), one
 * request log line per router-level stream, no uncaught exception or unhandled rejection.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { loadSnapshot } from '../config/file-source.ts';
import type { Snapshot } from '../config/snapshot.ts';
import { checkMessage } from '../envoy-config/proto-check.ts';
import { type ExtProcServer, startExtProc } from '../ext-proc/server.ts';
import { fromStruct, toStruct } from '../ext-proc/struct.ts';
import { supportedProviders } from '../ext-proc/translate/registry.ts';
import { createLogger } from '../observability/logger.ts';
import { EXT_PROC_SERVICE, extProcRoot } from '../protos/envoy.ts';
import type { ProcessingRequest } from '../protos/ext-proc-messages.ts';
import { clip, jsFailureIn, leakedSecret, openAIErrorProblem, secretSpellings } from './invariants.ts';
import { Rng } from './random.ts';
import {
  budgetLeft,
  type FuzzFailure,
  type FuzzOptions,
  type FuzzReport,
  type FuzzTarget,
} from './target.ts';

const BODY_LIMIT = 64 * 1024;
const REQUEST_TYPE = 'envoy.service.ext_proc.v3.ProcessingRequest';
const RESPONSE_TYPE = 'envoy.service.ext_proc.v3.ProcessingResponse';
const PHASES = [
  'request_headers',
  'request_body',
  'request_trailers',
  'response_headers',
  'response_body',
  'response_trailers',
] as const;
/** Where the per-attempt phase puts a provider credential: headers only (ext-proc/translate/*). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key']);
/** Providers whose request body names the model; the others name it in the path. */
const MODEL_IN_BODY = new Set(['OpenAI', 'OpenAICompatible', 'Mistral', 'Anthropic']);
/** A `model` member anywhere in a body, with its raw value (the generator nests no other `model` key). */
const MODEL_MEMBER = /"model"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}\s]*)/g;
/** gRPC statuses a stream may end with when the peer misbehaved or went away (grpc.io status codes). */
const CLEAN_STATUSES = new Set([
  grpc.status.OK,
  grpc.status.CANCELLED,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.INTERNAL,
  grpc.status.UNAVAILABLE,
]);

interface Secrets {
  gatewayKey: string;
  disabledKey: string;
  providerKeys: string[];
}

function randomSecrets(rng: Rng): Secrets {
  const hex = (n: number) => rng.bytes(n).toString('hex');
  return {
    gatewayKey: `sk-gw-${hex(12)}`,
    disabledKey: `sk-gw-off-${hex(12)}`,
    providerKeys: [
      `sk-openai-${hex(12)}`,
      `sk-ant-${hex(12)}`,
      `AIza${hex(12)}`,
      `azure${hex(12)}`,
      `mistral${hex(12)}`,
      `AKIA${hex(8).toUpperCase()}`,
      `aws-secret-${hex(16)}`,
    ],
  };
}

function configYaml(s: Secrets): string {
  const [openai, anthropic, gemini, azure, mistral, awsId, awsSecret] = s.providerKeys;
  const backend = (name: string, provider: string, extra: string) =>
    `---\napiVersion: agentrouter.dev/v1alpha1\nkind: ProviderBackend\nmetadata: { name: ${name} }\nspec:\n  provider: ${provider}\n${extra}`;
  return [
    `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData:
  gw: ${s.gatewayKey}
  off: ${s.disabledKey}
  openai: ${openai}
  anthropic: ${anthropic}
  gemini: ${gemini}
  azure: ${azure}
  mistral: ${mistral}
---
apiVersion: v1
kind: Secret
metadata: { name: aws }
stringData:
  aws-access-key-id: ${awsId}
  aws-secret-access-key: ${awsSecret}
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: team }
spec:
  secretRef: { name: keys, key: gw }
  routeConfigRef: { name: main }
  attributes: { tenant: team, residency: eu }
---
apiVersion: agentrouter.dev/v1alpha1
kind: APIKey
metadata: { name: off }
spec:
  secretRef: { name: keys, key: off }
  routeConfigRef: { name: main }
  disabled: true
`,
    backend(
      'openai',
      'OpenAI',
      '  baseURL: http://openai.invalid/v1\n  credentials: { secretRef: { name: keys, key: openai } }\n',
    ),
    backend('compat', 'OpenAICompatible', '  baseURL: http://compat.invalid/v1\n'),
    backend(
      'anthropic',
      'Anthropic',
      '  baseURL: http://anthropic.invalid\n  credentials: { secretRef: { name: keys, key: anthropic } }\n',
    ),
    backend(
      'gemini',
      'Gemini',
      '  baseURL: http://gemini.invalid\n  credentials: { secretRef: { name: keys, key: gemini } }\n',
    ),
    backend(
      'azure',
      'AzureOpenAI',
      '  baseURL: http://azure.invalid\n  credentials: { secretRef: { name: keys, key: azure } }\n',
    ),
    backend(
      'mistral',
      'Mistral',
      '  baseURL: http://mistral.invalid/v1\n  credentials: { secretRef: { name: keys, key: mistral } }\n',
    ),
    backend(
      'bedrock',
      'Bedrock',
      '  region: us-east-1\n  baseURL: http://bedrock.invalid\n  credentials: { type: AWSAccessKey, secretRef: { name: aws } }\n',
    ),
    `---
apiVersion: agentrouter.dev/v1alpha1
kind: RouteConfig
metadata: { name: main }
spec:
  fallback: { attempts: 3, retryOn: [connect-failure, 5xx, 429] }
  routes:
    - { name: mini, model: gpt-4o, backendRef: { name: openai }, modelNameOverride: gpt-4o-mini }
    - { name: claude, model: chat-model, backendRef: { name: anthropic }, modelNameOverride: claude-fuzz-1, weight: 50 }
    - { name: gem, model: chat-model, backendRef: { name: gemini }, modelNameOverride: gemini-fuzz-1, weight: 50 }
    - { name: az, model: azure-model, backendRef: { name: azure }, modelNameOverride: az-deploy, priority: 0 }
    - { name: az-next, model: azure-model, backendRef: { name: mistral }, modelNameOverride: mistral-fuzz, priority: 1 }
    - { name: az-last, model: azure-model, backendRef: { name: bedrock }, modelNameOverride: anthropic.claude-fuzz, priority: 2 }
    - name: regulated
      model: policy-model
      backendRef: { name: compat }
      modelNameOverride: compat-regulated
      match: { headers: [{ name: x-data-class, type: Exact, value: regulated }] }
    - { name: open, model: policy-model, backendRef: { name: compat }, modelNameOverride: compat-open }
`,
  ].join('');
}

const LOGICAL_MODELS = ['gpt-4o', 'chat-model', 'azure-model', 'policy-model'];
/** Which of Secrets.providerKeys each backend's credential is (the AWS access key id for Bedrock). */
const BACKEND_KEY: Record<string, number> = {
  'default/openai': 0,
  'default/anthropic': 1,
  'default/gemini': 2,
  'default/azure': 3,
  'default/mistral': 4,
  'default/bedrock': 5,
};

// ---------------------------------------------------------------------------------------------------
// Drawing a case

type Wire = { kind: 'message'; message: ProcessingRequest } | { kind: 'garbage'; bytes: Buffer };

interface GrpcCase {
  level: 'router' | 'upstream';
  wires: Wire[];
  /** After the last wire: half-close, cancel, or cancel as soon as the first answer arrives. */
  ending: 'half-close' | 'cancel' | 'cancel-on-answer';
  /** The client body, when it was one JSON object (what the model invariant compares with). */
  clientModel: string | undefined;
  /** Per-attempt cases: the entry the forwarded decision names, and the attempt the gateway says. */
  route?: string;
  attempt?: number;
}

const BODY_MODES = ['NONE', 'STREAMED', 'BUFFERED', 'BUFFERED_PARTIAL', 'FULL_DUPLEX_STREAMED'] as const;

function headers(map: Record<string, string>, extra: [string, string][] = []) {
  return {
    headers: [...Object.entries(map), ...extra].map(([key, value]) => ({
      key,
      raw_value: Buffer.from(value),
    })),
  };
}

function chatBody(rng: Rng, model: unknown): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    messages: [{ role: 'user', content: rng.pick(['hi', 'tell me a story', 'x'.repeat(rng.int(2000))]) }],
  };
  if (rng.chance(0.4)) body.stream = rng.chance(0.8) ? true : rng.pick(['yes', 1, null]);
  if (rng.chance(0.2)) body.stream_options = rng.pick([{ include_usage: true }, { include_usage: 'no' }, 7]);
  if (rng.chance(0.2)) body.max_tokens = rng.pick([16, -1, 1e12, 'many', null]);
  if (rng.chance(0.15)) body.temperature = rng.pick([0.5, 'hot', 99]);
  if (rng.chance(0.1)) body.user = `session-${rng.int(5)}`;
  if (rng.chance(0.1))
    body.tools = [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }];
  if (rng.chance(0.1)) body.messages = rng.pick([[], 'hello', [{ role: 'user' }], [{ content: 3 }], null]);
  return body;
}

/** A request body: valid JSON, mutated JSON, or bytes that are no JSON at all. */
function requestBody(rng: Rng, model: unknown): Buffer {
  const text = JSON.stringify(chatBody(rng, model));
  switch (rng.int(12)) {
    case 0:
      return Buffer.alloc(0);
    case 1:
      return Buffer.from(text.slice(0, rng.int(text.length)));
    case 2:
      return Buffer.from(`${text}${rng.pick(['x', '{}', ' ,', '\u0000'])}`);
    case 3:
      return Buffer.from(text.replace('"model"', '"model":"gpt-4o","mod\\u0065l"'));
    case 4:
      return rng.bytes(rng.int(300));
    case 5:
      return Buffer.concat([Buffer.from('\ufeff'), Buffer.from(text)]);
    case 6:
      return Buffer.from(text.replace('"messages"', `"pad":"${'p'.repeat(BODY_LIMIT)}","messages"`));
    case 7:
      return Buffer.from(rng.pick(['[]', 'null', '"model"', '1', '{"model":{"$ne":1}}']));
    default:
      return Buffer.from(text);
  }
}

/** Splits a body into chunks, the last one with end_of_stream unless the case drops it. */
function bodyChunks(rng: Rng, body: Buffer, phase: 'request_body' | 'response_body'): ProcessingRequest[] {
  const parts: Buffer[] = [];
  let rest = body;
  while (rest.length > 0 && parts.length < 4 && rng.chance(0.5)) {
    const cut = 1 + rng.int(rest.length);
    parts.push(rest.subarray(0, cut));
    rest = rest.subarray(cut);
  }
  parts.push(rest);
  const dropEnd = rng.chance(0.1);
  return parts.map((chunk, i) => ({
    [phase]: { body: chunk, end_of_stream: i === parts.length - 1 && !dropEnd },
  })) as ProcessingRequest[];
}

/** A provider answer in one of the shapes ext-proc reads, or an error that quotes the credential. */
function providerAnswer(
  rng: Rng,
  key: string,
  provider: string,
): { status: string; type: string; body: Buffer } {
  const quoting = [
    `{"error":{"message":"Incorrect API key provided: Bearer ${key}","type":"invalid_request_error","code":"invalid_api_key"}}`,
    `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ${key}"}}`,
    `{"error":{"code":400,"message":"API key not valid: ${key}","status":"INVALID_ARGUMENT"}}`,
    `{"message":"The security token included in the request is invalid: ${key}"}`,
  ];
  switch (rng.int(8)) {
    case 0:
      return {
        status: rng.pick(['401', '403', '400', '429', '500']),
        type: 'application/json',
        body: Buffer.from(rng.pick(quoting)),
      };
    case 1:
      return { status: '500', type: 'text/plain', body: Buffer.from(`upstream said ${key}`) };
    case 2:
      return {
        status: '200',
        type: 'text/event-stream',
        body: Buffer.from(
          provider === 'Anthropic'
            ? 'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":1,"output_tokens":0}}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n'
            : 'data: {"id":"c","object":"chat.completion.chunk","model":"x","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n',
        ),
      };
    case 3:
      return { status: '200', type: 'application/json', body: rng.bytes(rng.int(200)) };
    case 4:
      // A provider that accepted the key has no reason to quote it, except in a mid-stream error event,
      // which ext-proc searches where it converts the stream (Anthropic here).
      return {
        status: '200',
        type: 'text/event-stream',
        body: Buffer.from(
          provider === 'Anthropic'
            ? `event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"overloaded ${key}"}}\n\n`
            : 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n',
        ),
      };
    default:
      return {
        status: '200',
        type: 'application/json',
        body: Buffer.from(
          JSON.stringify(
            provider === 'Anthropic'
              ? {
                  id: 'm',
                  type: 'message',
                  role: 'assistant',
                  model: 'x',
                  content: [{ type: 'text', text: 'hi' }],
                  stop_reason: 'end_turn',
                  usage: { input_tokens: 1, output_tokens: 1 },
                }
              : provider === 'Gemini'
                ? {
                    candidates: [
                      { content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP' },
                    ],
                    usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1 },
                  }
                : {
                    id: 'c',
                    object: 'chat.completion',
                    created: 1,
                    model: 'x',
                    choices: [
                      { index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' },
                    ],
                    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
                  },
          ),
        ),
      };
  }
}

function randomStruct(rng: Rng, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = rng.int(4); i > 0; i--) {
    const key = rng.pick(['route', 'path', 'key_id', 'x', '', 'resolved_model', '\u0000']);
    out[key] = rng.pick<unknown>([
      'a',
      1,
      true,
      null,
      [1, 'b'],
      depth < 3 ? randomStruct(rng, depth + 1) : {},
    ]);
  }
  return out;
}

function drawCase(rng: Rng, snapshot: Snapshot, secrets: Secrets): GrpcCase {
  const level = rng.chance(0.5) ? 'router' : 'upstream';
  const model = rng.chance(0.85)
    ? rng.pick(LOGICAL_MODELS)
    : rng.pick<unknown>(['unknown-model', '', 7, null]);
  const body = requestBody(rng, model);
  let clientModel: string | undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { model?: unknown };
    if (typeof parsed?.model === 'string') clientModel = parsed.model;
  } catch {
    clientModel = undefined;
  }
  const entryIds = [...snapshot.entries.keys()];
  const route = rng.chance(0.9) ? rng.pick(entryIds) : rng.pick(['default/main/gone', '', 'x'.repeat(300)]);
  const attempt = rng.pick([1, 1, 2, 3, 7]);
  const entry = snapshot.entries.get(route);
  const candidate = entry?.fallbackChain[Math.min(attempt, entry.fallbackChain.length) - 1];
  const provider = candidate?.backend.provider ?? 'OpenAI';
  const injectedKey = secrets.providerKeys[BACKEND_KEY[candidate?.backend.id ?? ''] ?? -1] ?? 'no-key-here';

  const requestHead: Record<string, string> = {
    ':method': rng.pick(['POST', 'POST', 'POST', 'GET', 'DELETE']),
    ':path': rng.pick([
      '/v1/chat/completions',
      '/v1/chat/completions',
      '/v1/completions',
      '/v1/embeddings',
      '/v1/models',
      '/',
      '/v1/chat/completions?key=x',
    ]),
    ':authority': 'gateway.local',
    ':scheme': 'http',
    'content-type': rng.pick(['application/json', 'application/json', 'text/plain', '']),
  };
  const extra: [string, string][] = [];
  if (level === 'router') {
    const auth = rng.int(6);
    if (auth < 3) requestHead.authorization = `Bearer ${secrets.gatewayKey}`;
    else if (auth === 3) requestHead.authorization = `Bearer ${secrets.disabledKey}`;
    else if (auth === 4) requestHead['x-api-key'] = secrets.gatewayKey;
    if (rng.chance(0.2)) requestHead['x-data-class'] = 'regulated';
    if (rng.chance(0.2)) requestHead['x-session-id'] = `s-${rng.int(10)}`;
  } else {
    requestHead['x-envoy-attempt-count'] = rng.chance(0.9)
      ? String(attempt)
      : rng.pick(['0', '-1', 'two', '']);
  }
  if (rng.chance(0.2))
    extra.push([
      rng.pick([
        'x-agent-router-route',
        'x-agent-router-key-id',
        'x-gateway-destination-endpoint',
        'x-agent-router-priority',
      ]),
      rng.pick(entryIds),
    ]);
  if (rng.chance(0.1)) extra.push(['authorization', 'Bearer second']);

  const sequence: ProcessingRequest[] = [];
  const metadata =
    level === 'upstream' && rng.chance(0.9)
      ? {
          filter_metadata: {
            'agent-router': toStruct(
              rng.chance(0.85)
                ? { route, path: requestHead[':path'], key_id: rng.pick(['default/team', 'default/nobody']) }
                : randomStruct(rng),
            ),
            ...(rng.chance(0.2) ? { [rng.pick(['envoy.lb', 'x', ''])]: toStruct(randomStruct(rng)) } : {}),
          },
        }
      : rng.chance(0.1)
        ? { filter_metadata: { [rng.pick(['agent-router', 'envoy.lb'])]: toStruct(randomStruct(rng)) } }
        : undefined;
  const first: ProcessingRequest = {
    request_headers: { headers: headers(requestHead, extra), end_of_stream: rng.chance(0.08) },
  };
  if (rng.chance(0.9))
    first.protocol_config = {
      request_body_mode: rng.pick([...BODY_MODES, 'BUFFERED', 'BUFFERED']),
      response_body_mode: rng.pick([...BODY_MODES, 'BUFFERED']),
      send_body_without_waiting_for_header_response: rng.chance(0.3),
    } as ProcessingRequest['protocol_config'];
  if (metadata) first.metadata_context = metadata as ProcessingRequest['metadata_context'];
  sequence.push(first);
  sequence.push(...bodyChunks(rng, body, 'request_body'));
  if (rng.chance(0.15)) sequence.push({ request_trailers: { trailers: headers({ 'x-t': '1' }) } });

  const answer = providerAnswer(rng, injectedKey, provider);
  const responseHead: Record<string, string> = {
    ':status': rng.chance(0.95) ? answer.status : rng.pick(['abc', '999', '']),
  };
  if (answer.type) responseHead['content-type'] = answer.type;
  if (Number(answer.status) >= 400 && rng.chance(0.5))
    responseHead['www-authenticate'] = `Bearer realm="x", error="invalid_token" ${injectedKey}`;
  if (level === 'router' && rng.chance(0.5)) {
    responseHead['x-agent-router-resolved-model'] = entry?.resolvedModel ?? 'x';
    responseHead['x-agent-router-backend'] = entry?.backend.id ?? 'x';
    responseHead['x-agent-router-attempt'] = rng.pick(['1', '2', 'x']);
  }
  // A router-level answer never quotes a provider credential: the per-attempt phase redacts it first.
  const responseBody =
    level === 'router' && Number(answer.status) >= 400
      ? Buffer.from('{"error":{"message":"provider said no","type":"api_error","code":null}}')
      : level === 'router'
        ? Buffer.from(
            answer.body.toString('utf8').replace(/(sk|AIza|azure|mistral|AKIA|aws)[-\w]*/g, 'redacted'),
          )
        : answer.body;
  if (rng.chance(0.9)) {
    sequence.push({ response_headers: { headers: headers(responseHead), end_of_stream: rng.chance(0.05) } });
    sequence.push(...bodyChunks(rng, responseBody, 'response_body'));
    if (rng.chance(0.15)) sequence.push({ response_trailers: { trailers: headers({ 'x-t': '1' }) } });
  }

  // Bend the plausible exchange.
  const mutations = rng.int(4);
  for (let i = 0; i < mutations; i++) {
    // Every mutation needs a message to bend (a drop may have taken the last one).
    if (sequence.length === 0) break;
    const at = rng.int(sequence.length);
    switch (rng.int(9)) {
      case 0: // swap two messages
        if (sequence.length > 1) {
          const other = rng.int(sequence.length);
          [sequence[at], sequence[other]] = [sequence[other]!, sequence[at]!];
        }
        break;
      case 1: // duplicate
        sequence.splice(at, 0, sequence[at]!);
        break;
      case 2: // drop
        sequence.splice(at, 1);
        break;
      case 3: // a random protocol_config on any message
        sequence[at] = {
          ...sequence[at]!,
          protocol_config: {
            request_body_mode: rng.pick([...BODY_MODES, 'GRPC']),
            response_body_mode: rng.pick([...BODY_MODES, 'GRPC']),
          } as ProcessingRequest['protocol_config'],
        };
        break;
      case 4: // observability mode: ext-proc must not answer
        sequence[at] = { ...sequence[at]!, observability_mode: true };
        break;
      case 5: // an oversized body chunk
        sequence.splice(at, 0, {
          request_body: { body: Buffer.alloc(BODY_LIMIT + 1, 0x20), end_of_stream: rng.chance(0.5) },
        });
        break;
      case 6: // an empty message: no phase set
        sequence.splice(at, 0, {} as ProcessingRequest);
        break;
      case 7: // random metadata on any message
        sequence[at] = {
          ...sequence[at]!,
          metadata_context: { filter_metadata: { 'agent-router': toStruct(randomStruct(rng)) } },
        } as ProcessingRequest;
        break;
      default: // a response phase before its time
        sequence.splice(at, 0, {
          response_headers: { headers: headers({ ':status': '200', 'content-type': 'application/json' }) },
        });
    }
  }
  const wires: Wire[] = sequence.map((message) => ({ kind: 'message', message }));
  if (rng.chance(0.05))
    wires.splice(rng.int(wires.length + 1), 0, { kind: 'garbage', bytes: rng.bytes(1 + rng.int(40)) });
  // Cut the stream after any message.
  if (rng.chance(0.25)) wires.length = rng.int(wires.length + 1);
  return {
    level,
    wires,
    ending: rng.pick(['half-close', 'half-close', 'half-close', 'cancel', 'cancel-on-answer']),
    clientModel,
    ...(level === 'upstream' ? effectiveDecision(wires) : {}),
  };
}

/**
 * What the per-attempt phase is told, after the mutations: the first request_headers message's forwarded
 * `agent-router` metadata, else the target header (values of a repeated header joined as HTTP does),
 * and Envoy's attempt count (not a positive integer: the first attempt).
 */
function effectiveDecision(wires: readonly Wire[]): { route?: string; attempt: number } {
  const first = wires.find((w) => w.kind === 'message' && w.message.request_headers !== undefined);
  if (first?.kind !== 'message') return { attempt: 1 };
  const struct = first.message.metadata_context?.filter_metadata?.['agent-router'];
  const route = struct ? (fromStruct(struct) as Record<string, unknown>).route : undefined;
  const header = (name: string) => {
    const values = (first.message.request_headers?.headers?.headers ?? [])
      .filter((h) => h.key === name)
      .map((h) => Buffer.from(h.raw_value ?? []).toString('utf8'));
    return values.length > 0 ? values.join(', ') : undefined;
  };
  const attempt = Number(header('x-envoy-attempt-count') ?? '1');
  const target = typeof route === 'string' ? route : header('x-agent-router-route');
  return {
    ...(target !== undefined ? { route: target } : {}),
    attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
  };
}

// ---------------------------------------------------------------------------------------------------
// Running a case

interface Outcome {
  answers: Buffer[];
  status: grpc.StatusObject | undefined;
}

type RawCall = grpc.ClientDuplexStream<Buffer, Buffer>;

function rawProcessClient(target: string) {
  const identity = (b: Buffer) => b;
  const Client = grpc.makeGenericClientConstructor(
    {
      Process: {
        path: `/${EXT_PROC_SERVICE}/Process`,
        requestStream: true,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
        originalName: 'Process',
      },
    },
    'ExternalProcessor',
  );
  return new Client(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Process(metadata: grpc.Metadata): RawCall;
  };
}

function runCase(
  client: ReturnType<typeof rawProcessClient>,
  requestType: protobuf.Type,
  c: GrpcCase,
): Promise<Outcome> {
  const metadata = new grpc.Metadata();
  metadata.set('x-agent-router-filter', c.level);
  const call = client.Process(metadata);
  const answers: Buffer[] = [];
  return new Promise<Outcome>((resolve) => {
    let status: grpc.StatusObject | undefined;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ answers, status });
    };
    // A stream ext-proc neither answers nor ends is reported, not waited for.
    const timer = setTimeout(() => {
      call.cancel();
      setTimeout(settle, 20);
    }, 5_000);
    call.on('data', (answer: Buffer) => {
      answers.push(answer);
      if (c.ending === 'cancel-on-answer') call.cancel();
    });
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      settle();
    });
    call.on('error', () => {});
    for (const wire of c.wires) {
      call.write(
        wire.kind === 'garbage'
          ? wire.bytes
          : Buffer.from(requestType.encode(requestType.fromObject(wire.message)).finish()),
      );
    }
    if (c.ending === 'cancel') setImmediate(() => call.cancel());
    else call.end();
  });
}

function phaseOf(message: Record<string, unknown>, phases: readonly string[]): string | undefined {
  return phases.find((p) => message[p] !== undefined && message[p] !== null);
}

interface CheckContext {
  snapshot: Snapshot;
  responseType: protobuf.Type;
  root: protobuf.Root;
  gatewaySpellings: string[];
  providerSpellings: string[];
}

function checkCase(ctx: CheckContext, c: GrpcCase, outcome: Outcome): string[] {
  const problems: string[] = [];
  const sent = c.wires.flatMap((w) =>
    w.kind === 'message' && !w.message.observability_mode
      ? [phaseOf(w.message as Record<string, unknown>, PHASES) ?? '?']
      : ['?'],
  );
  let cursor = 0;
  let immediate = false;
  /** Request bodies the answers put in place of the client's; whether the last one passed unchanged. */
  const carried: Buffer[] = [];
  let passedUnchanged = false;
  let upstreamPath: string | undefined;
  let decision: Record<string, unknown> | undefined;
  /** The message whose answer carried the decision: the body is what came up to it. */
  let decidedAt = -1;
  const injected = new Set<string>();
  for (const [i, bytes] of outcome.answers.entries()) {
    let decoded: protobuf.Message;
    try {
      decoded = ctx.responseType.decode(bytes);
    } catch (error) {
      problems.push(`answer ${i} is no ProcessingResponse: ${(error as Error).message}`);
      continue;
    }
    const plain = ctx.responseType.toObject(decoded, { enums: String, longs: String }) as Record<
      string,
      unknown
    >;
    const json = ctx.responseType.toObject(decoded, {
      enums: String,
      longs: String,
      bytes: String,
    }) as Record<string, unknown>;
    if (json.dynamic_metadata) json.dynamic_metadata = fromStruct(plain.dynamic_metadata as never);
    for (const p of checkMessage(ctx.root, RESPONSE_TYPE, json))
      problems.push(`answer ${i} breaks Envoy's rules at ${p.path}: ${p.message}`);
    const phase = phaseOf(plain, [...PHASES, 'immediate_response']);
    let matched = -1;
    if (immediate) problems.push(`answer ${i} (${phase}) follows an immediate_response`);
    if (phase === 'immediate_response') {
      immediate = true;
      const ir = plain.immediate_response as { status?: { code?: string | number }; body?: Uint8Array };
      const body = Buffer.from(ir.body ?? []).toString('utf8');
      const code = Number(
        ctx.root.lookupEnum('envoy.type.v3.StatusCode').values[String(ir.status?.code)] ?? ir.status?.code,
      );
      if (code >= 400) {
        const shape = openAIErrorProblem(code, body);
        if (shape) problems.push(`immediate_response: ${shape}`);
        else if (/"code":"internal_error"/.test(body))
          problems.push(`immediate_response is an internal_error: ${clip(body)}`);
      }
      if (cursor >= sent.length) problems.push('immediate_response answers no message');
      cursor = sent.length;
    } else {
      const at = sent.indexOf(phase ?? '', cursor);
      matched = at;
      if (at < 0)
        problems.push(`answer ${i} (${phase}) answers no ${phase} message sent after message ${cursor}`);
      else cursor = at + 1;
    }
    // What would go upstream, and the decision.
    const common = (plain[phase ?? ''] as { response?: Record<string, unknown> } | undefined)?.response;
    const setHeaders = (
      (
        common?.header_mutation as {
          set_headers?: { header?: { key?: string; raw_value?: Uint8Array; value?: string } }[];
        }
      )?.set_headers ?? []
    ).map(
      (h) =>
        [
          h.header?.key ?? '',
          Buffer.from(h.header?.raw_value ?? []).toString('utf8') || (h.header?.value ?? ''),
        ] as const,
    );
    for (const [key, value] of setHeaders) if (key === ':path') upstreamPath = value;
    if (phase === 'request_body') {
      const mutation = common?.body_mutation as
        | { body?: Uint8Array; clear_body?: boolean; streamed_response?: { body?: Uint8Array } }
        | undefined;
      const body = mutation?.body ?? mutation?.streamed_response?.body;
      if (body && body.length > 0) carried.push(Buffer.from(body));
      const answered = c.wires[matched];
      passedUnchanged =
        !body?.length &&
        !mutation?.clear_body &&
        answered?.kind === 'message' &&
        answered.message.request_body?.end_of_stream === true;
    }
    if (plain.dynamic_metadata) {
      const md = fromStruct(plain.dynamic_metadata as never) as Record<string, Record<string, unknown>>;
      if (md['agent-router']?.route !== undefined) {
        decision = md['agent-router'];
        decidedAt = matched;
      }
    }
    // Secrets. The gateway key: nowhere. A provider credential: only in the credential headers of the
    // request it is injected into; what this stream injected, never in a response-phase answer.
    const text = bytes.toString('latin1');
    if (leakedSecret(text, ctx.gatewaySpellings) !== undefined)
      problems.push(`answer ${i} (${phase}) carries a gateway key`);
    if (phase === 'request_headers' || phase === 'request_body') {
      let rest = text;
      for (const [key, value] of setHeaders) {
        if (!CREDENTIAL_HEADERS.has(key)) continue;
        for (const spelling of ctx.providerSpellings) if (value.includes(spelling)) injected.add(spelling);
        if (c.level === 'upstream') rest = rest.split(value).join('');
      }
      if (leakedSecret(rest, ctx.providerSpellings) !== undefined)
        problems.push(`answer ${i} (${phase}) carries a provider credential outside the credential headers`);
    } else if (injected.size > 0 && leakedSecret(text, [...injected]) !== undefined) {
      problems.push(`answer ${i} (${phase}) carries the credential this attempt injected`);
    }
  }
  if (outcome.answers.length > sent.length)
    problems.push(`${outcome.answers.length} answers to ${sent.length} messages`);

  // How the stream ended.
  const s = outcome.status;
  if (!s) problems.push('the stream never ended');
  else {
    if (!CLEAN_STATUSES.has(s.code))
      problems.push(`stream ended with gRPC status ${s.code}: ${clip(s.details)}`);
    if (jsFailureIn(s.details)) problems.push(`stream status leaks a JavaScript failure: ${clip(s.details)}`);
  }

  // The model that would go upstream is the decided one.
  if (c.level === 'router' && decision) {
    const entry = ctx.snapshot.entries.get(String(decision.route));
    if (!entry) problems.push(`decision names no entry: ${String(decision.route)}`);
    else {
      // Which body messages the answer's decision read is ambiguous from the outside (a mode may hold
      // chunks unanswered, full duplex holds the headers answer until the body's end): the body decided
      // on is the request bodies sent up to some message at or after the answer's.
      const prefixes: (string | undefined)[] = [];
      let body = Buffer.alloc(0);
      for (const [i, w] of c.wires.entries()) {
        if (w.kind === 'message' && w.message.request_body?.body)
          body = Buffer.concat([body, w.message.request_body.body]);
        if (i >= decidedAt) prefixes.push(modelOf(body));
      }
      if (!prefixes.includes(entry.model))
        problems.push(`decided entry ${entry.id} serves ${entry.model}, no body sent named it`);
      if (decision.resolved_model !== entry.resolvedModel)
        problems.push(
          `decision says ${String(decision.resolved_model)}, entry ${entry.id} resolves ${entry.resolvedModel}`,
        );
    }
  }
  // Through Envoy, a body reaches the per-attempt phase only once the router-level phase parsed it.
  const original = Buffer.concat(
    c.wires.flatMap((w) =>
      w.kind === 'message' && w.message.request_body?.body ? [w.message.request_body.body] : [],
    ),
  );
  if (c.level === 'upstream' && !immediate && routerWouldAccept(original)) {
    const entry = ctx.snapshot.entries.get(c.route ?? '');
    const attempt = c.attempt ?? 1;
    const candidate = entry?.fallbackChain[Math.min(attempt, entry.fallbackChain.length) - 1];
    if (candidate) {
      const expected = candidate.resolvedModel;
      if (MODEL_IN_BODY.has(candidate.backend.provider)) {
        const forwarded = passedUnchanged && carried.length === 0 ? [original] : carried;
        for (const body of forwarded) {
          const named = [...body.toString('utf8').matchAll(MODEL_MEMBER)].map((m) => m[1]!);
          if (named.length !== 1 || named[0] !== JSON.stringify(expected))
            problems.push(
              `upstream body names model ${clip(named.join(' and ') || 'none', 80)}, the decision is ${expected}`,
            );
        }
      } else if (upstreamPath !== undefined && !upstreamPath.includes(`/${expected}`)) {
        problems.push(`upstream path ${clip(upstreamPath, 120)} does not name ${expected}`);
      }
    }
  }
  return problems;
}

function modelOf(body: Buffer): string | undefined {
  try {
    const value = JSON.parse(body.toString('utf8')) as { model?: unknown } | null;
    return typeof value?.model === 'string' ? value.model : undefined;
  } catch {
    return undefined;
  }
}

function routerWouldAccept(body: Buffer): boolean {
  try {
    const value = JSON.parse(body.toString('utf8')) as { model?: unknown } | null;
    return typeof value?.model === 'string' && value.model.length > 0;
  } catch {
    return false;
  }
}

const asText = (_key: string, value: unknown) =>
  value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer'
    ? Buffer.from((value as { data: number[] }).data).toString('utf8')
    : value;

function traceWire(wire: Wire, requestType: protobuf.Type): string {
  if (wire.kind === 'garbage') return `garbage ${wire.bytes.toString('hex')}`;
  const decoded = requestType.decode(requestType.encode(requestType.fromObject(wire.message)).finish());
  return JSON.stringify(requestType.toObject(decoded, { enums: String, longs: String }), asText);
}

function traceAnswer(bytes: Buffer, responseType: protobuf.Type): string {
  return JSON.stringify(
    responseType.toObject(responseType.decode(bytes), { enums: String, longs: String }),
    asText,
  );
}

function describeCase(c: GrpcCase, secrets: Secrets): string {
  const names: [string, string][] = [
    [secrets.gatewayKey, '<gateway key>'],
    [secrets.disabledKey, '<disabled key>'],
    ...secrets.providerKeys.map((k, i) => [k, `<provider key ${i}>`] as [string, string]),
  ];
  const wires = c.wires.map((w) => {
    if (w.kind === 'garbage') return `garbage(${w.bytes.length})`;
    const phase = phaseOf(w.message as Record<string, unknown>, PHASES) ?? 'empty';
    const part = (w.message as Record<string, { body?: Buffer; end_of_stream?: boolean }>)[phase];
    const body = part?.body
      ? `${part.body.length}B${part.end_of_stream ? ' eos' : ''}`
      : part?.end_of_stream
        ? 'eos'
        : '';
    const mode = w.message.protocol_config
      ? ` [${w.message.protocol_config.request_body_mode}/${w.message.protocol_config.response_body_mode}]`
      : '';
    return `${phase}${body ? `(${body})` : ''}${mode}${w.message.observability_mode ? ' obs' : ''}`;
  });
  let text = `${c.level} ${c.ending} route=${c.route ?? '-'} attempt=${c.attempt ?? '-'} model=${c.clientModel}: ${wires.join(', ')}`;
  for (const [secret, name] of names) text = text.split(secret).join(name);
  return text;
}

// ---------------------------------------------------------------------------------------------------

async function openStreams(server: ExtProcServer): Promise<number> {
  const metric = await server.metrics.streams.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

export const runExtProcGrpcFuzz: FuzzTarget = async (options: FuzzOptions): Promise<FuzzReport> => {
  const secrets = randomSecrets(new Rng(options.seed));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-router-fuzz-'));
  const configPath = path.join(dir, 'config.yaml');
  writeFileSync(configPath, configYaml(secrets));
  const snapshot = loadSnapshot(configPath, { supportedProviders });
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (chunk: string) => void lines.push(...chunk.split('\n').filter(Boolean)) },
  });
  const server = await startExtProc({
    snapshot,
    logger,
    grpcAddress: '127.0.0.1:0',
    maxRequestBodyBytes: BODY_LIMIT,
  });
  const client = rawProcessClient(`127.0.0.1:${server.grpcPort}`);
  const root = extProcRoot();
  const requestType = root.lookupType(REQUEST_TYPE);
  const ctx: CheckContext = {
    snapshot,
    root,
    responseType: root.lookupType(RESPONSE_TYPE),
    gatewaySpellings: secretSpellings([secrets.gatewayKey, secrets.disabledKey]),
    providerSpellings: secretSpellings(secrets.providerKeys),
  };
  const crashes: string[] = [];
  const onCrash = (error: unknown) => crashes.push(`uncaught: ${(error as Error)?.stack ?? String(error)}`);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);

  const failures: FuzzFailure[] = [];
  const startedAt = performance.now();
  let cases = 0;
  let routerStreams = 0;
  let surelyOpened = 0;
  const allSecrets = [...ctx.gatewaySpellings, ...ctx.providerSpellings];
  try {
    while (options.only !== undefined ? cases <= options.only : budgetLeft(options, cases, startedAt)) {
      if (options.only !== undefined && cases < options.only) {
        cases = options.only;
        continue;
      }
      const c = drawCase(Rng.forCase(options.seed, cases), snapshot, secrets);
      if (options.trace) for (const w of c.wires) options.trace(`sent ${traceWire(w, requestType)}`);
      const logFrom = lines.length;
      const outcome = await runCase(client, requestType, c);
      if (c.level === 'router') {
        routerStreams++;
        if (c.ending === 'half-close' && c.wires.length > 0) surelyOpened++;
      }
      const problems = checkCase(ctx, c, outcome);
      if (options.trace) {
        for (const a of outcome.answers) options.trace(`answered ${traceAnswer(a, ctx.responseType)}`);
        options.trace(`ended ${outcome.status?.code} ${outcome.status?.details ?? ''}`);
      }
      for (const line of lines.slice(logFrom)) {
        if (leakedSecret(line, allSecrets) !== undefined)
          problems.push(
            `a log line carries a secret: ${clip(line.replace(/sk-\S+|AIza\S+|AKIA\S+/g, '<secret>'))}`,
          );
        if (/"level":(50|60)/.test(line)) problems.push(`error-level log line: ${clip(line)}`);
      }
      problems.push(...crashes.splice(0));
      if (problems.length > 0) {
        failures.push({ index: cases, input: describeCase(c, secrets), problems });
        if (options.stopOnFailure) {
          cases++;
          break;
        }
      }
      cases++;
    }
    // Let the last streams' ends reach the server before counting what is still open.
    const finalProblems: string[] = [];
    const deadline = Date.now() + 3_000;
    let open = await openStreams(server);
    while (open > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      open = await openStreams(server);
    }
    if (open !== 0) finalProblems.push(`${open} Process streams still open after the run`);
    // A stream cancelled before its first message reached the server never opened there.
    const records = lines.filter((l) => l.includes('"event":"request"')).length;
    if (records < surelyOpened || records > routerStreams)
      finalProblems.push(
        `${records} request log lines for ${routerStreams} router-level streams (${surelyOpened} surely opened)`,
      );
    const metrics = await server.metrics.registry.metrics();
    if (leakedSecret(metrics, allSecrets) !== undefined) finalProblems.push('the metrics carry a secret');
    finalProblems.push(...crashes.splice(0));
    return { target: 'ext-proc-grpc', seed: options.seed, cases, failures, finalProblems };
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    client.close();
    await server.shutdown(500);
  }
};
