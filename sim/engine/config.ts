/**
 * Settings of the simulated vLLM engine. Times are milliseconds of whichever clock drives the engine
 * (wall time in the HTTP model server, virtual time in a benchmark).
 */
export interface EngineConfig {
  /** Running sequences at most (vLLM `--max-num-seqs`). */
  readonly maxBatchSize: number;
  /** KV-cache blocks in total (vLLM `num_gpu_blocks`). */
  readonly kvCacheBlocks: number;
  /** Tokens per KV block (vLLM `--block-size`, default 16). */
  readonly blockSize: number;
  /** Fixed cost of a step that prefills at least one sequence. */
  readonly prefillMsBase: number;
  /** Prefill cost per prompt token not found in the prefix cache. */
  readonly prefillMsPerToken: number;
  /** Fixed cost of a step that decodes at least one sequence. */
  readonly decodeMsPerStepBase: number;
  /** Added to a decode step per sequence it decodes, so steps slow down as the batch grows. */
  readonly decodeMsPerStepPerSeq: number;
  /** Block hashes the prefix cache remembers, least recently used evicted first; 0 disables it. */
  readonly prefixCacheBlocks: number;
  /** Root of the block-hash chain (vLLM's `NONE_HASH`, random per process unless PYTHONHASHSEED is set). */
  readonly seed: number;
}

/**
 * Roughly an 8B model on one data-centre GPU: 256 sequences, 128k tokens of KV cache, ~10k prompt tokens/s
 * of prefill and 10-23 ms decode steps. Only the relations matter to a routing benchmark.
 */
export const DEFAULT_ENGINE_CONFIG: EngineConfig = {
  maxBatchSize: 256,
  kvCacheBlocks: 8192,
  blockSize: 16,
  prefillMsBase: 2,
  prefillMsPerToken: 0.1,
  decodeMsPerStepBase: 10,
  decodeMsPerStepPerSeq: 0.05,
  prefixCacheBlocks: 8192,
  seed: 0,
};

/** Fills defaults and checks every field, so the engine never meets a negative block count or a NaN cost. */
export function resolveEngineConfig(overrides: Partial<EngineConfig> = {}): EngineConfig {
  const config: EngineConfig = { ...DEFAULT_ENGINE_CONFIG, ...withoutUndefined(overrides) };
  positiveInteger(config, 'maxBatchSize');
  positiveInteger(config, 'kvCacheBlocks');
  positiveInteger(config, 'blockSize');
  nonNegativeInteger(config, 'prefixCacheBlocks');
  nonNegativeNumber(config, 'prefillMsBase');
  nonNegativeNumber(config, 'prefillMsPerToken');
  nonNegativeNumber(config, 'decodeMsPerStepBase');
  nonNegativeNumber(config, 'decodeMsPerStepPerSeq');
  if (!Number.isInteger(config.seed)) throw new RangeError(`seed must be an integer, got ${config.seed}`);
  return Object.freeze(config);
}

type NumericKey = keyof EngineConfig;

function withoutUndefined(overrides: Partial<EngineConfig>): Partial<EngineConfig> {
  const out: Partial<Record<NumericKey, number>> = {};
  for (const key of Object.keys(overrides) as NumericKey[]) {
    const value = overrides[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function positiveInteger(config: EngineConfig, key: NumericKey): void {
  const value = config[key];
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${key} must be a positive integer, got ${value}`);
  }
}

function nonNegativeInteger(config: EngineConfig, key: NumericKey): void {
  const value = config[key];
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${key} must be a non-negative integer, got ${value}`);
  }
}

function nonNegativeNumber(config: EngineConfig, key: NumericKey): void {
  const value = config[key];
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${key} must be a non-negative number, got ${value}`);
  }
}
