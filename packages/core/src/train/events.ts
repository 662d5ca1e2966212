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
  /** True when the loss or gradient norm was NaN or infinite and the update was skipped (parameters and optimizer state unchanged). */
  readonly skipped: boolean;
  /** Steps skipped so far in the run, this one included. */
  readonly skippedSteps: number;
  /**
   * Non-padding tokens per second of completed steps, over this step and the
   * one before it (their tokens over the time since the step before them
   * completed). Under run-ahead a step's values reach the host together with
   * the next step's passes, so steps complete in pairs; the two-step window
   * gives each its share of the device's time. Evaluation time is left out.
   */
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

import type { BackendMemoryPeaks } from '../backend/backend.js';

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
  /** The backend's memory high-water marks over the run, where it keeps them ({@link Backend.memoryPeaks}). */
  readonly memory?: BackendMemoryPeaks;
}

/** What {@link train} yields. */
export type TrainEvent = StepEvent | EvalEvent | DoneEvent;

/** When {@link trainWithFailover} moves the run to the next backend after losing a device. */
export interface BackendSwitchEvent {
  readonly type: 'backend-switch';
  /** Name of the backend that was lost. */
  readonly from: string;
  /** Name of the backend the run continues on. */
  readonly to: string;
  /** The last completed step: the run continues with step `step + 1`. */
  readonly step: number;
  /** The error that ended the run on `from`. */
  readonly reason: string;
}

/** What {@link trainWithFailover} yields. */
export type FailoverEvent = TrainEvent | BackendSwitchEvent;
