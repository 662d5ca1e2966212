import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { Tape } from '../autograd/tape.js';
import { LoraFuseError, throwIfAborted } from '../errors/index.js';
import type { Folder } from '../io/index.js';
import * as ops from '../ops/index.js';
import { bytesPerElement, Tensor, type DType } from '../tensor/index.js';
import { rngStreamId } from '../reference/philox.js';
import type { DeviceAdapter, DeviceLoraModule } from './device-adapter.js';
import type { KVCache } from './kv-cache.js';
import { openModelFolder, type OpenModelOptions } from './open.js';
import { inverseFrequencies, ropeTables, ropeTablesPerToken, type RopeTables } from './rope-tables.js';
import type { ModelCheckpoint, ModelConfig } from './types.js';
import { expectedModelWeights } from './weights.js';
import { formatBytes } from '../memory/format.js';

/** Options of {@link CausalLM.load}. */
export interface LoadModelOptions extends OpenModelOptions {
  /**
   * The dtype the frozen matrices (embeddings, projections, LM head) are
   * held in on the device: a checkpoint stored otherwise is converted one
   * tensor at a time as it loads, rounding to nearest, ties to even (the
   * bits `torch.Tensor.to` gives; NaN stays NaN). Default: as stored. `bf16`
   * halves an f32 checkpoint's memory; kernels widen bf16/f16 weights while
   * they pack them. Norms and biases are always f32.
   */
  baseDtype?: 'f32' | 'bf16' | 'f16';
  /** Called after each weight is uploaded. */
  onProgress?: (progress: { loaded: number; total: number }) => void;
}

/** Options of {@link CausalLM.forward}. */
export interface ForwardOptions {
  /** LoRA adapters applied together: each adapted layer adds `Σ_i s_i·(x·A_iᵀ)·B_iᵀ`. */
  readonly adapters?: readonly DeviceAdapter[];
  /**
   * i32 `[batch, seq]` target ids aligned with the logits (the token each
   * position should predict; −100 = no loss). When given, the result has the
   * mean cross-entropy over the counted positions. Given on the host (a
   * {@link Tensor}), the loss is taken by {@link ops.lmHeadLoss}: the LM head
   * runs in chunks of tokens over the counted positions only, and the
   * `[batch, seq, vocab]` logits never exist (none are returned, unless
   * `logits` asks for them). On the device, the loss is taken from the logits.
   */
  readonly targets?: DeviceTensor | Tensor<'i32'>;
  /** With host `targets`: also compute and return the logits, taking the loss from them (the unchunked path). */
  readonly logits?: boolean;
  /** Tokens per chunk of the chunked loss (default {@link ops.lossChunkTokens} of the vocabulary). */
  readonly lossChunkTokens?: number;
  /**
   * `layers`: activation checkpointing per decoder layer ({@link Tape.checkpoint}):
   * the forward pass keeps only each layer's input, and the backward pass
   * runs each layer again before its gradients, for about one more forward
   * pass of work; the gradients keep their bits. Default `none`. Only with
   * gradients; decoding never checkpoints.
   */
  readonly checkpointing?: 'none' | 'layers';
  /**
   * Called with the input `x` (`[batch, seq, in]`, owned by the tape) of
   * every LoRA-adaptable projection (named like
   * `model.layers.0.self_attn.q_proj`) before it is applied: the hook
   * activation statistics use. Compute from `x` at once;
   * it is freed with the tape.
   */
  readonly onLinearInput?: (module: string, x: DeviceTensor) => void;
  /**
   * LoRA dropout, for training only: each adapter whose dropout probability
   * (`p`, else its own {@link DeviceAdapter.dropout}) is above 0 sees its
   * input through {@link Kernels.dropout} with the Philox stream of `seed`
   * and `${key}/${adapter index}/${module}`, as PEFT applies
   * `lora_B(lora_A(dropout(x)))`; the frozen projection sees `x` itself.
   */
  readonly dropout?: LoraDropout;
}

/** The LoRA dropout of one forward pass (see {@link ForwardOptions.dropout}). */
export interface LoraDropout {
  /** Seed of the Philox streams. */
  readonly seed: number;
  /** Names the pass (a step and micro-batch), so that each draws its own masks. */
  readonly key: string;
  /** Overrides every adapter's probability. */
  readonly p?: number;
}

/** Outputs of {@link CausalLM.forward}; both belong to the tape (use {@link Tape.keep} to hold them longer). */
export interface ForwardResult {
  /** f32 `[batch, seq, vocab]`: always without targets; with host targets only when `logits` asks for them. */
  readonly logits?: DeviceTensor;
  /** `[]`: mean cross-entropy over the targets that are not −100 (when targets were given). */
  readonly loss?: DeviceTensor;
}

/** Options of {@link CausalLM.decode}. */
export interface DecodeOptions {
  /** LoRA adapters applied together, as in {@link ForwardOptions.adapters}. */
  readonly adapters?: readonly DeviceAdapter[];
  /** Return only the logits of each row's last position (`[batch, 1, vocab]`): all that sampling the next token needs. */
  readonly lastOnly?: boolean;
}

/** Names of the seven LoRA-adaptable projections of a layer, with their parent module. */
const PROJECTIONS = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'] as const;

/**
 * A Llama-family causal language model (Llama incl. Llama 3 RoPE scaling,
 * Mistral, Qwen2; GQA, tied embeddings, q/k/v biases) whose weights live on
 * a {@link Backend}. Linear and embedding weights keep their storage dtype
 * (f16/bf16 are widened inside the kernels); norms and biases are f32.
 * The forward pass runs on the kernel contract only, so it is the same on
 * every backend, and records on a {@link Tape} for gradients.
 */
export class CausalLM {
  /** The model's configuration. */
  readonly config: ModelConfig;
  /** The backend holding the weights. */
  readonly backend: Backend;
  readonly #weights: ReadonlyMap<string, DeviceTensor>;
  readonly #invFreq: Float32Array;
  /** The per-token RoPE tables of the last batch shape that started at position 0: a training loop repeats its shape step after step. */
  #ropeLast: { readonly batch: number; readonly seq: number; readonly tables: RopeTables } | undefined;

  private constructor(backend: Backend, config: ModelConfig, weights: ReadonlyMap<string, DeviceTensor>) {
    this.backend = backend;
    this.config = config;
    this.#weights = weights;
    this.#invFreq = inverseFrequencies(config);
  }

  /**
   * Loads a Hugging Face model folder (or an opened checkpoint) onto
   * `backend`. Throws `OUT_OF_MEMORY` before uploading anything when the
   * weights exceed the backend's {@link Backend.maxBytes}, and the codes of
   * {@link openModelFolder}.
   */
  static async load(backend: Backend, source: Folder | ModelCheckpoint, options: LoadModelOptions = {}): Promise<CausalLM> {
    const checkpoint = 'weights' in source ? source : await openModelFolder(source, options);
    const { config, weights } = checkpoint;
    const specs = expectedModelWeights(config);
    const { baseDtype } = options;
    if (baseDtype !== undefined && !['f32', 'bf16', 'f16'].includes(baseDtype))
      throw new LoraFuseError('INVALID_OPTION', `baseDtype must be f32, bf16 or f16; got ${String(baseDtype)}.`, { details: { baseDtype } });
    // Norm weights and biases feed f32-only kernels; matrices stay in their storage dtype, or baseDtype.
    const dtypeOf = (shape: readonly number[], stored: DType) => (isVector(shape) ? 'f32' : (baseDtype ?? stored));
    const bytes = specs.reduce((n, s) => {
      const info = weights.info(s.name);
      return n + info.size * bytesPerElement(dtypeOf(s.shape, info.dtype!));
    }, 0);
    if (backend.maxBytes !== undefined && bytes > backend.maxBytes) {
      throw new LoraFuseError(
        'OUT_OF_MEMORY',
        `The model's weights need ${formatBytes(bytes)} but the ${backend.name} backend holds at most ${formatBytes(backend.maxBytes)}; use a smaller model or another backend.`,
        { details: { bytes, maxBytes: backend.maxBytes, backend: backend.name } },
      );
    }
    const uploaded = new Map<string, DeviceTensor>();
    try {
      for (const spec of specs) {
        throwIfAborted(options.signal);
        const t = await weights.read(spec.name, options.signal);
        const dtype = dtypeOf(spec.shape, t.dtype);
        uploaded.set(spec.name, backend.upload(t.dtype === dtype ? t : t.castFloat(dtype as 'f32' | 'bf16' | 'f16')));
        options.onProgress?.({ loaded: uploaded.size, total: specs.length });
      }
    } catch (error) {
      for (const t of uploaded.values()) backend.free(t);
      throw error;
    }
    return new CausalLM(backend, config, uploaded);
  }

  /**
   * A model over weights already on `backend`, by Hugging Face name (every
   * one {@link expectedModelWeights} lists; vectors f32): what a memory plan
   * runs on placeholders. The model owns them ({@link CausalLM.dispose}
   * frees them). Throws `MODEL_WEIGHTS_MISSING`.
   */
  static fromDeviceWeights(backend: Backend, config: ModelConfig, weights: ReadonlyMap<string, DeviceTensor>): CausalLM {
    const missing = expectedModelWeights(config)
      .filter((s) => !weights.has(s.name))
      .map((s) => s.name);
    if (missing.length > 0)
      throw new LoraFuseError('MODEL_WEIGHTS_MISSING', `fromDeviceWeights lacks ${missing.length} weight(s), e.g. ${missing[0]}.`, { details: { missing } });
    return new CausalLM(backend, config, weights);
  }

  /** The model's weights on the device, by Hugging Face name (for full-parameter training: watch the f32 ones). */
  get weights(): ReadonlyMap<string, DeviceTensor> {
    return this.#weights;
  }

  /**
   * The forward pass on `tape`: logits for i32 `ids` `[batch, seq]`, and the
   * mean cross-entropy when `targets` are given. Throws `SHAPE_MISMATCH` for
   * ids that are not `[batch, seq]`, `INVALID_OPTION` for an adapter module
   * that is not one of the model's projections, and `MODEL_UNSUPPORTED` for
   * a sequence longer than a sliding attention window.
   */
  forward(tape: Tape, ids: DeviceTensor, options?: ForwardOptions & { readonly targets?: undefined }): ForwardResult & { readonly logits: DeviceTensor };
  forward(tape: Tape, ids: DeviceTensor, options: ForwardOptions): ForwardResult;
  forward(tape: Tape, ids: DeviceTensor, options: ForwardOptions = {}): ForwardResult {
    const c = this.config;
    const [, seq] = checkIds('forward', ids);
    if (c.slidingWindow !== null && seq > c.slidingWindow) {
      throw new LoraFuseError(
        'MODEL_UNSUPPORTED',
        `Sequences of ${seq} tokens exceed the model's sliding attention window (${c.slidingWindow}), which LoRAFuse does not implement; use at most ${c.slidingWindow} tokens.`,
        {
          details: { seq, slidingWindow: c.slidingWindow },
        },
      );
    }
    const hidden = this.#run(tape, ids, options);
    const { targets } = options;
    if (targets instanceof Tensor && !options.logits) {
      return { loss: ops.lmHeadLoss(tape, hidden, this.#head, targets, options.lossChunkTokens === undefined ? {} : { chunkTokens: options.lossChunkTokens }) };
    }
    const logits = ops.matmul(tape, hidden, this.#head, { transB: true });
    if (targets === undefined) return { logits };
    return { logits, loss: ops.crossEntropy(tape, logits, targets instanceof Tensor ? tape.constant(targets) : targets) };
  }

  /**
   * Incremental inference: runs i32 `ids` `[batch, s]` as the positions
   * that follow `cache` (positions `cache.length …`), appends their keys and
   * values to it, and returns the logits `[batch, s, vocab]` (owned by
   * `tape`) — equal to those {@link CausalLM.forward} gives at the same
   * positions of the whole sequence. The first call fills an empty cache
   * with the prompt; later calls feed one token per row. Inference only:
   * the cache owns the keys and values, so use a tape with nothing watched. Throws
   * `CONTEXT_EXCEEDED` when the cache would outgrow the model's context,
   * `SHAPE_MISMATCH` for ids that are not `[batch, s]` or whose batch
   * differs from the cache's, and the codes of {@link CausalLM.forward}.
   */
  decode(tape: Tape, ids: DeviceTensor, cache: KVCache, options: DecodeOptions = {}): DeviceTensor {
    const [batch, seq] = checkIds('decode', ids);
    if (cache.batch !== 0 && cache.batch !== batch) {
      throw new LoraFuseError('SHAPE_MISMATCH', `decode: ids have ${batch} rows but the KV cache holds ${cache.batch}.`, {
        details: { batch, cacheBatch: cache.batch },
      });
    }
    cache.checkRoom(seq);
    const logits = ops.matmul(tape, this.#run(tape, ids, options, cache), this.#head, { transB: true });
    cache.advance(seq);
    return logits;
  }

  /** The LM head's weight (the embeddings when tied). */
  get #head(): DeviceTensor {
    return this.#weights.get(this.config.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight')!;
  }

  /** The layers and the final norm: the hidden states of `ids` the LM head reads, continuing `cache` when given. */
  #run(tape: Tape, ids: DeviceTensor, options: ForwardOptions & DecodeOptions, cache?: KVCache): DeviceTensor {
    const c = this.config;
    const [batch, seq] = ids.shape;
    const loras = this.#loraIndex(options.adapters ?? [], options.dropout?.p);
    const { cos, sin } = this.#ropeTables(batch, seq, cache?.length ?? 0);
    const cosT = tape.constant(cos);
    const sinT = tape.constant(sin);
    const w = (name: string) => this.#weights.get(name)!;
    const dropout = options.dropout;
    const { numAttentionHeads: H, numKeyValueHeads: KV, headDim: D, rmsNormEps: eps } = c;
    /**
     * One decoder layer on `tape` from its input `x`; `observe` sees every
     * projection's input (left out when a checkpointed layer is replayed).
     */
    const decoderLayer = (tape: Tape, x: DeviceTensor, l: number, observe: ForwardOptions['onLinearInput']): DeviceTensor => {
      const linear = (x: DeviceTensor, name: string) => {
        observe?.(name, x);
        const adapted = loras.get(name) ?? [];
        // The fused kernel serves the first adapter when its input is x itself.
        const fused = adapted[0] && !(dropout && adapted[0].p > 0) ? adapted[0] : undefined;
        let y = fused
          ? ops.loraLinear(tape, x, w(`${name}.weight`), fused.module.a, fused.module.b, fused.module.scaling)
          : ops.matmul(tape, x, w(`${name}.weight`), { transB: true });
        for (const { module: m, adapter, p } of fused ? adapted.slice(1) : adapted) {
          const input = dropout && p > 0 ? ops.dropout(tape, x, { p, seed: dropout.seed, stream: rngStreamId(`${dropout.key}/${adapter}/${name}`) }) : x;
          const update = ops.matmul(tape, ops.matmul(tape, input, m.a, { transB: true }), m.b, { transB: true });
          y = ops.add(tape, y, ops.scale(tape, update, m.scaling));
        }
        const bias = this.#weights.get(`${name}.bias`);
        return bias ? ops.add(tape, y, bias) : y;
      };
      // Activations stay sequence-first, [batch, seq, heads, D], as the projections reshape: RoPE sees one
      // position per kernel row and attention reads that layout, so no permute is needed.
      const heads = (x: DeviceTensor, n: number) => ops.reshape(tape, x, [batch, seq, n, D]);
      const rotated = (x: DeviceTensor, n: number) =>
        ops.reshape(tape, ops.rope(tape, ops.reshape(tape, x, [batch * seq, n, 1, D]), cosT, sinT), [batch, seq, n, D]);

      const p = `model.layers.${l}`;
      const h1 = ops.rmsNorm(tape, x, w(`${p}.input_layernorm.weight`), eps);
      const q = rotated(linear(h1, `${p}.self_attn.q_proj`), H);
      let k = rotated(linear(h1, `${p}.self_attn.k_proj`), KV);
      let v = heads(linear(h1, `${p}.self_attn.v_proj`), KV);
      if (cache) ({ keys: k, values: v } = cache.append(l, tape.keep(k), tape.keep(v)));
      const attn = ops.reshape(tape, ops.attention(tape, q, k, v, { layout: 'bshd' }), [batch, seq, H * D]);
      x = ops.add(tape, x, linear(attn, `${p}.self_attn.o_proj`));
      const h2 = ops.rmsNorm(tape, x, w(`${p}.post_attention_layernorm.weight`), eps);
      const act = ops.swiglu(tape, linear(h2, `${p}.mlp.gate_proj`), linear(h2, `${p}.mlp.up_proj`));
      x = ops.add(tape, x, linear(act, `${p}.mlp.down_proj`));
      return x;
    };
    const checkpointed = options.checkpointing === 'layers' && !cache;

    let x = ops.embedding(tape, ids, w('model.embed_tokens.weight'));
    for (let l = 0; l < c.numHiddenLayers; l++) {
      const input = x;
      // A layer's intermediates live until its end, or, checkpointed, until the backward replays it.
      x = checkpointed
        ? tape.checkpoint(input, (t, h, replay) => decoderLayer(t, h, l, replay ? undefined : options.onLinearInput))
        : tape.scope(() => decoderLayer(tape, input, l, options.onLinearInput));
    }
    if (options.lastOnly && seq > 1) x = lastPositions(tape, x);
    return ops.rmsNorm(tape, x, w('model.norm.weight'), eps);
  }

  /** RoPE tables `[batch · seq, 1, headDim]` for positions `offset …` of every row. */
  #ropeTables(batch: number, seq: number, offset: number): RopeTables {
    if (offset !== 0) return ropeTablesPerToken(ropeTables(this.#invFreq, seq, offset), batch);
    const last = this.#ropeLast;
    if (last?.batch === batch && last.seq === seq) return last.tables;
    const tables = ropeTablesPerToken(ropeTables(this.#invFreq, seq), batch);
    this.#ropeLast = { batch, seq, tables };
    return tables;
  }

  /** Frees the model's weights. */
  dispose(): void {
    for (const t of this.#weights.values()) this.backend.free(t);
  }

  /** LoRA modules by projection name, with their adapter's index and dropout probability, checked against the model's projections. */
  #loraIndex(adapters: readonly DeviceAdapter[], p: number | undefined): Map<string, IndexedModule[]> {
    const index = new Map<string, IndexedModule[]>();
    for (const [i, adapter] of adapters.entries()) {
      for (const m of adapter.modules) {
        if (!this.#isProjection(m.name)) {
          throw new LoraFuseError(
            'INVALID_OPTION',
            `LoRA module ${m.name} is not a projection of this model (q/k/v/o_proj, gate/up/down_proj of layers 0–${this.config.numHiddenLayers - 1}).`,
            {
              details: { module: m.name },
            },
          );
        }
        index.set(m.name, [...(index.get(m.name) ?? []), { module: m, adapter: i, p: p ?? adapter.dropout ?? 0 }]);
      }
    }
    return index;
  }

  #isProjection(name: string): boolean {
    const match = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
    return match !== null && Number(match[1]) < this.config.numHiddenLayers && (PROJECTIONS as readonly string[]).includes(match[2]);
  }
}

/** A LoRA module as a projection applies it. */
interface IndexedModule {
  readonly module: DeviceLoraModule;
  /** Index of its adapter in the pass's adapters (keys its dropout stream). */
  readonly adapter: number;
  /** Its adapter's dropout probability. */
  readonly p: number;
}

/** Checks that `ids` are i32 `[batch, seq]` and returns the two sizes. */
function checkIds(method: string, ids: DeviceTensor): [number, number] {
  if (ids.shape.length !== 2 || ids.dtype !== 'i32') {
    throw new LoraFuseError('SHAPE_MISMATCH', `${method} expects i32 token ids [batch, seq]; got ${ids.dtype} [${ids.shape.join(', ')}].`, {
      details: { shape: [...ids.shape] },
    });
  }
  return [ids.shape[0], ids.shape[1]];
}

/** The hidden states of each row's last position, `[batch, 1, hidden]`: an exact gather by an embedding lookup over the flattened rows. */
function lastPositions(tape: Tape, x: DeviceTensor): DeviceTensor {
  const [batch, seq, hidden] = x.shape;
  const rows = tape.constant(
    new Tensor(
      'i32',
      [batch, 1],
      Int32Array.from({ length: batch }, (_, b) => b * seq + seq - 1),
    ),
  );
  return ops.embedding(tape, rows, ops.reshape(tape, x, [batch * seq, hidden]));
}

function isVector(shape: readonly number[]): boolean {
  return shape.length === 1;
}
