/**
 * The routing benchmark's workload: multi-turn chats over a few long shared system prompts, arriving as a
 * Poisson process. Deterministic under a seed: the same config always yields the same requests, texts and
 * token ids, so every policy of a load step is measured on exactly the same traffic.
 *
 * Shape:
 * - `systemPrompts` distinct system prompts of `systemPromptTokens` tokens, each conversation on one of them
 *   at random;
 * - a fixed population of `activeConversations` (N) conversations in progress, in a queue by how long they
 *   have waited. Each arrival is the next turn of one of the N/4 that have waited longest, drawn at random,
 *   so a conversation's turns come at least 3N/4 arrivals apart, N on average (N / `ratePerSec` seconds):
 *   the user reads the answer, then types. (Taking strictly the longest-waiting one would replay a fixed rotation,
 *   which a round-robin picker with a pod count dividing N turns into perfect session affinity.) A
 *   conversation that has sent all its turns is replaced by a new one on a random system prompt. The
 *   population is the same at every load, so the prefix-cache working set is too, and a higher load means
 *   the same users typing faster — which is what lets a calibration run find one saturation rate;
 * - turn k's prompt is the system prompt, every earlier user message and answer, then user message k: it
 *   extends turn k−1's prompt by turn k−1's answer and a new message, so consecutive turns share all but a
 *   few hundred tokens;
 * - inter-arrival times are exponential with rate `ratePerSec`.
 *
 * Every text segment is a whole number of 4-character groups, so `tokenize(a + b)` is `tokenize(a)` followed
 * by `tokenize(b)` (sim/tokens.ts cuts from the start in groups of four): a turn's token ids are its
 * conversation's token buffer up to that turn, grown by appending, never re-tokenized from the whole text.
 */
import { createRandom } from '../../sim/seeded-random.ts';
import { CHARS_PER_TOKEN, tokenize } from '../../sim/tokens.ts';

/** Inclusive integer range. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

export interface WorkloadConfig {
  readonly seed: number;
  readonly systemPrompts: number;
  readonly systemPromptTokens: Range;
  readonly activeConversations: number;
  /** User turns per conversation. */
  readonly turns: Range;
  readonly userTokens: Range;
  /** Output tokens per answer (the request's `maxTokens`; the next turn's prompt carries the answer). */
  readonly answerTokens: Range;
  readonly ratePerSec: number;
  /** Arrivals in all, warm-up included. */
  readonly requests: number;
  /** The first arrivals, which warm the caches and are left out of the figures. */
  readonly warmupRequests: number;
}

export interface ChatTurn {
  /** `r<index>`: unique within the workload. */
  readonly id: string;
  /** Position in arrival order. */
  readonly index: number;
  readonly arrivalMs: number;
  readonly conversation: number;
  /** 0 for a conversation's first user message. */
  readonly turn: number;
  readonly systemPrompt: number;
  /** The chat's messages concatenated: what the picker hashes for prefix affinity. */
  readonly prompt: string;
  /** `tokenize(prompt)`, a view of the conversation's token buffer. */
  readonly promptTokens: Uint32Array;
  readonly maxTokens: number;
  /** False for warm-up arrivals. */
  readonly measured: boolean;
}

export interface Workload {
  readonly config: WorkloadConfig;
  readonly systemPrompts: readonly string[];
  /** In arrival order (`arrivalMs` non-decreasing). */
  readonly requests: readonly ChatTurn[];
}

const WORDS = (
  'the a of to and in is for on with that this as by from at be it are or an not we you your our can ' +
  'will should must may each every when then than if so which what who how why all any some more most ' +
  'model server cache token request queue batch latency throughput budget policy tenant region cluster ' +
  'pod node route gateway picker prefix session prompt answer user system assistant tool function call ' +
  'result error retry timeout limit quota price cost report summary table chart metric alert incident ' +
  'deploy release rollback canary traffic weight score filter scorer picker profile config manifest ' +
  'contract invoice customer order payment refund shipment warehouse stock supplier forecast quarter ' +
  'please explain describe compare list write draft review check fix improve translate summarise'
).split(' ');

/** Deterministic prose of exactly `chars` characters, starting with `head`. */
function prose(random: () => number, head: string, chars: number): string {
  const parts: string[] = [head];
  let length = head.length;
  while (length < chars) {
    const word = WORDS[Math.floor(random() * WORDS.length)]!;
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ').slice(0, chars);
}

function between(random: () => number, range: Range): number {
  return range.min + Math.floor(random() * (range.max - range.min + 1));
}

/** A conversation's token ids so far, grown by appending; earlier turns keep views of older buffers. */
class TokenBuffer {
  private buffer = new Uint32Array(4096);
  length = 0;

  append(ids: readonly number[]): void {
    if (this.length + ids.length > this.buffer.length) {
      const grown = new Uint32Array(Math.max(this.buffer.length * 2, this.length + ids.length));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(ids, this.length);
    this.length += ids.length;
  }

  view(): Uint32Array {
    return this.buffer.subarray(0, this.length);
  }
}

interface Conversation {
  readonly id: number;
  readonly systemPrompt: number;
  readonly turns: number;
  nextTurn: number;
  text: string;
  readonly tokens: TokenBuffer;
}

export function generateWorkload(config: WorkloadConfig): Workload {
  checkConfig(config);
  const random = createRandom(config.seed);
  const systemPrompts: string[] = [];
  const systemTokens: number[][] = [];
  for (let i = 0; i < config.systemPrompts; i++) {
    const tokens = between(random, config.systemPromptTokens);
    const text = prose(
      random,
      `<|system|> You are assistant #${i} of the platform team.`,
      tokens * CHARS_PER_TOKEN,
    );
    systemPrompts.push(text);
    systemTokens.push(tokenize(text));
  }

  let conversations = 0;
  const userMessage = (conversation: number, turn: number): string =>
    prose(random, `<|user|> [${conversation}.${turn}]`, between(random, config.userTokens) * CHARS_PER_TOKEN);
  const answer = (tokens: number): string => prose(random, '<|assistant|>', tokens * CHARS_PER_TOKEN);

  const open = (inProgress: boolean): Conversation => {
    const systemPrompt = Math.floor(random() * config.systemPrompts);
    const turns = between(random, config.turns);
    const conversation: Conversation = {
      id: conversations++,
      systemPrompt,
      turns,
      nextTurn: 0,
      text: systemPrompts[systemPrompt]!,
      tokens: new TokenBuffer(),
    };
    conversation.tokens.append(systemTokens[systemPrompt]!);
    // The initial population is caught mid-conversation, as it would be in a pool that has been serving
    // for a while: the turns before it "happened before the run" (their history is in the prompt, but no
    // cache holds it), so the mix of short and long histories is steady from the first arrival.
    const skipped = inProgress ? Math.floor(random() * turns) : 0;
    for (let turn = 0; turn < skipped; turn++) {
      const user = userMessage(conversation.id, turn);
      const reply = answer(between(random, config.answerTokens));
      conversation.text += user + reply;
      conversation.tokens.append(tokenize(user));
      conversation.tokens.append(tokenize(reply));
    }
    conversation.nextTurn = skipped;
    return conversation;
  };

  // A ring from `head`, longest waiting first. The drawn conversation trades places with the one at `head`,
  // then `head` advances, which puts it at the back.
  const active: Conversation[] = Array.from({ length: config.activeConversations }, () => open(true));
  const window = Math.max(1, Math.floor(active.length / 4));
  let head = 0;
  const requests: ChatTurn[] = [];
  let atMs = 0;
  for (let index = 0; index < config.requests; index++) {
    atMs += (-Math.log(1 - random()) / config.ratePerSec) * 1000;
    const drawn = (head + Math.floor(random() * window)) % active.length;
    const conversation = active[drawn]!;
    active[drawn] = active[head]!;
    const turn = conversation.nextTurn++;
    const user = userMessage(conversation.id, turn);
    conversation.text += user;
    conversation.tokens.append(tokenize(user));
    const maxTokens = between(random, config.answerTokens);
    requests.push({
      id: `r${index}`,
      index,
      arrivalMs: atMs,
      conversation: conversation.id,
      turn,
      systemPrompt: conversation.systemPrompt,
      prompt: conversation.text,
      promptTokens: conversation.tokens.view(),
      maxTokens,
      measured: index >= config.warmupRequests,
    });
    const reply = answer(maxTokens);
    conversation.text += reply;
    conversation.tokens.append(tokenize(reply));
    active[head] = conversation.nextTurn < conversation.turns ? conversation : open(false);
    head = (head + 1) % active.length;
  }
  return { config, systemPrompts, requests };
}

function checkConfig(config: WorkloadConfig): void {
  const ranges: (keyof WorkloadConfig)[] = ['systemPromptTokens', 'turns', 'userTokens', 'answerTokens'];
  for (const key of ranges) {
    const { min, max } = config[key] as Range;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
      throw new RangeError(`${key} must be an integer range with 1 <= min <= max, got ${min}..${max}`);
    }
  }
  const counts: (keyof WorkloadConfig)[] = ['systemPrompts', 'activeConversations', 'requests'];
  for (const key of counts) {
    const value = config[key] as number;
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer`);
  }
  if (!Number.isInteger(config.warmupRequests) || config.warmupRequests < 0) {
    throw new RangeError('warmupRequests must be a non-negative integer');
  }
  if (!(config.ratePerSec > 0 && Number.isFinite(config.ratePerSec))) {
    throw new RangeError(`ratePerSec must be a positive number, got ${config.ratePerSec}`);
  }
}
