/** After each optimizer step. */
export interface StepEvent {
  readonly type: 'step';
  /** Optimizer steps done so far (1-based). */
  readonly step: number;
  /** Epoch of this step (0-based). */
  readonly epoch: number;
  /** Mean training loss over the step's counted target tokens (all micro-batches). */
  readonly loss: number;
  /** Learning rate used for this step. */
  readonly lr: number;
  /** Global L2 norm of the gradient before clipping. */
  readonly gradNorm: number;
  /** Non-padding tokens processed per second in this step. */
  readonly tokensPerSecond: number;
}

/** After each epoch with validation data. */
export interface EvalEvent {
  readonly type: 'eval';
  /** The finished epoch (0-based). */
  readonly epoch: number;
  /** Mean validation loss per counted target token. */
  readonly loss: number;
}

/** Once, at the end of a run that was not aborted. */
export interface DoneEvent {
  readonly type: 'done';
  /** Optimizer steps done. */
  readonly steps: number;
  /** Epochs run. */
  readonly epochs: number;
  /** `completed` (all epochs) or `early-stopped` (validation stopped improving). */
  readonly reason: 'completed' | 'early-stopped';
  /** Lowest validation loss seen, when there was validation data. */
  readonly bestValidationLoss?: number;
}

/** What {@link train} yields. */
export type TrainEvent = StepEvent | EvalEvent | DoneEvent;
