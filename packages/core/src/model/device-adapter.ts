import type { Backend } from '../backend/backend.js';
import type { DeviceTensor } from '../backend/device-tensor.js';
import type { LoraAdapter } from '../adapter/index.js';
import { Tensor } from '../tensor/index.js';

/** One LoRA module in device memory: the update `scaling · B·A` to the linear layer `name`. */
export interface DeviceLoraModule {
  /** The base-model module path, e.g. `model.layers.0.self_attn.q_proj`. */
  readonly name: string;
  /** A: `[rank, in]`, f32. */
  readonly a: DeviceTensor;
  /** B: `[out, rank]`, f32. */
  readonly b: DeviceTensor;
  /** PEFT's factor (alpha/rank, or alpha/√rank with rsLoRA). */
  readonly scaling: number;
}

/** A LoRA adapter's factors in device memory, ready for {@link CausalLM.forward} and training. */
export interface DeviceAdapter {
  readonly modules: readonly DeviceLoraModule[];
  /** Dropout probability on the LoRA input in training (PEFT's `lora_dropout`; default 0). */
  readonly dropout?: number;
}

/**
 * Uploads an adapter's factors as f32 (f16/bf16 factors are widened
 * exactly), with its config's `lora_dropout`. Free them with {@link freeAdapter}.
 */
export function uploadAdapter(backend: Backend, adapter: LoraAdapter): DeviceAdapter {
  const f32 = (t: Tensor) => backend.upload(t.dtype === 'f32' ? t : new Tensor('f32', t.shape, t.toFloat32()));
  return {
    modules: adapter.modules.map((m) => ({ name: m.name, a: f32(m.a), b: f32(m.b), scaling: m.scaling })),
    ...(adapter.config.loraDropout > 0 ? { dropout: adapter.config.loraDropout } : {}),
  };
}

/** The trainable tensors of an adapter (every A and B), in module order. */
export function adapterParameters(adapter: DeviceAdapter): DeviceTensor[] {
  return adapter.modules.flatMap((m) => [m.a, m.b]);
}

/** Frees an adapter's device tensors. */
export function freeAdapter(backend: Backend, adapter: DeviceAdapter): void {
  for (const t of adapterParameters(adapter)) backend.free(t);
}
