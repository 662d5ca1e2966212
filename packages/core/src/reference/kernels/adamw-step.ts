import type { DeviceTensor } from '../../backend/device-tensor.js';
import { adamwGeometry, guardedGradScale } from '../../backend/geometry.js';
import type { AdamwOptions } from '../../backend/kernels.js';
import { floats, type HostStore } from '../host-store.js';

/** Reference {@link Kernels.adamwStep}: torch.optim.AdamW's update in float64, stored back as f32. */
export function adamwStep(store: HostStore, param: DeviceTensor, grad: DeviceTensor, m: DeviceTensor, v: DeviceTensor, options: AdamwOptions): void {
  const geometry = adamwGeometry(param, grad, m, v, options);
  const { lr, beta1, beta2, eps, weightDecay, step, guard } = options;
  const gradScale = guardedGradScale(geometry.gradScale, guard, (t) => floats(store.tensor(t))[0]);
  if (gradScale === undefined) return;
  const size = geometry.size;
  const pv = floats(store.tensor(param));
  const gv = floats(store.tensor(grad));
  const mv = floats(store.tensor(m));
  const vv = floats(store.tensor(v));
  const stepSize = lr / (1 - beta1 ** step);
  const correction2 = Math.sqrt(1 - beta2 ** step);
  for (let i = 0; i < size; i++) {
    const g = gradScale * gv[i];
    const p = pv[i] - lr * weightDecay * pv[i];
    const mi = beta1 * mv[i] + (1 - beta1) * g;
    const vi = beta2 * vv[i] + (1 - beta2) * g * g;
    pv[i] = p - (stepSize * mi) / (Math.sqrt(vi) / correction2 + eps);
    mv[i] = mi;
    vv[i] = vi;
  }
}
