/**
 * The settings Miyano & Arase (2025) publish for adaptive merging: LoRA rank
 * 8 and alpha 32 on `q_proj`/`v_proj`, AdamW at lr 1e-4 without weight
 * decay, batch 1 with 8 accumulation steps, 10 epochs, the learning rate
 * multiplied by 0.85 after each epoch, and pruning with the `lora` metric,
 * `module` grouping and norms refreshed after every optimizer step. The
 * pruning ratio is chosen per task on a dev set, so it is not part of the
 * preset.
 */
export const PUBLISHED_ADAPT_SETTINGS = Object.freeze({
  r: 8,
  alpha: 32,
  targetModules: Object.freeze(['q_proj', 'v_proj'] as const),
  lr: 1e-4,
  weightDecay: 0,
  batchSize: 1,
  accumulation: 8,
  epochs: 10,
  epochDecay: 0.85,
  metric: 'lora',
  grouping: 'module',
  refresh: 'step',
} as const);
