/**
 * The selective scan of a Mamba block over whole training windows, for TensorFlow.js:
 *
 *   h_t = exp(Delta_t A) h_{t-1} + (Delta_t x_t) B_t,   y_t = C_t . h_t,   h_{-1} = 0
 *
 * per batch row and channel, with inputs time-major ([T * batch, features], row t * batch + b).
 *
 * `selectiveScan` runs the recurrence as one tight JavaScript loop and its exact backward pass
 * (backpropagation through time over the stored states) inside `tf.customGrad`: on the WASM backend
 * a loop of tensor ops over time costs about a hundred small kernel calls per step. The same
 * recurrence written with tensor ops, `selectiveScanOps`, is kept as the reference the custom
 * gradient is tested against.
 */
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import type { Tf } from '../tf/backend.js';

/** Sizes of one scan: T steps of `batch` rows, `inner` channels of `state` states each. */
export interface ScanDims {
  readonly T: number;
  readonly batch: number;
  readonly inner: number;
  readonly state: number;
}

type ScanFn = (delta: Tensor2D, dx: Tensor2D, b: Tensor2D, c: Tensor2D, a: Tensor2D) => Tensor2D;

/**
 * Forward recurrence. `delta`, `dx` (= Delta x): [T * batch, inner]; `b`, `c`: [T * batch, state];
 * `a`: [inner, state]. Writes y [T * batch, inner]; when `hs` and `das` are given (each
 * T * batch * inner * state) they receive every state h_t and every exp(Delta_t A).
 */
export function scanForward(
  d: ScanDims,
  delta: Float32Array,
  dx: Float32Array,
  b: Float32Array,
  c: Float32Array,
  a: Float32Array,
  y: Float32Array,
  hs?: Float32Array,
  das?: Float32Array,
): void {
  const { T, batch: Bn, inner: D, state: N } = d;
  const h = new Float32Array(Bn * D * N);
  for (let t = 0; t < T; t++) {
    for (let bi = 0; bi < Bn; bi++) {
      const r = t * Bn + bi;
      const rN = r * N;
      for (let i = 0; i < D; i++) {
        const dt = delta[r * D + i]!;
        const u = dx[r * D + i]!;
        const hBase = (bi * D + i) * N;
        const aBase = i * N;
        const sBase = (r * D + i) * N;
        let acc = 0;
        for (let n = 0; n < N; n++) {
          const e = Math.exp(dt * a[aBase + n]!);
          const v = e * h[hBase + n]! + u * b[rN + n]!;
          h[hBase + n] = v;
          acc += v * c[rN + n]!;
          if (hs) {
            hs[sBase + n] = v;
            das![sBase + n] = e;
          }
        }
        y[r * D + i] = acc;
      }
    }
  }
}

/** Backpropagation through time of {@link scanForward}; accumulates into the gradient arrays. */
export function scanBackward(
  d: ScanDims,
  delta: Float32Array,
  dx: Float32Array,
  b: Float32Array,
  c: Float32Array,
  a: Float32Array,
  hs: Float32Array,
  das: Float32Array,
  dy: Float32Array,
  gDelta: Float32Array,
  gDx: Float32Array,
  gB: Float32Array,
  gC: Float32Array,
  gA: Float64Array,
): void {
  const { T, batch: Bn, inner: D, state: N } = d;
  // g: the gradient reaching h_t from later steps, exp(Delta_{t+1} A) * dL/dh_{t+1}.
  const g = new Float64Array(Bn * D * N);
  const dB = new Float64Array(N);
  const dC = new Float64Array(N);
  for (let t = T - 1; t >= 0; t--) {
    for (let bi = 0; bi < Bn; bi++) {
      const r = t * Bn + bi;
      const rN = r * N;
      dB.fill(0);
      dC.fill(0);
      for (let i = 0; i < D; i++) {
        const dyv = dy[r * D + i]!;
        const dt = delta[r * D + i]!;
        const u = dx[r * D + i]!;
        const gBase = (bi * D + i) * N;
        const aBase = i * N;
        const sBase = (r * D + i) * N;
        const pBase = sBase - Bn * D * N; // h_{t-1} of the same row and channel
        let accDelta = 0;
        let accU = 0;
        for (let n = 0; n < N; n++) {
          const gh = g[gBase + n]! + dyv * c[rN + n]!;
          dC[n] = dC[n]! + dyv * hs[sBase + n]!;
          dB[n] = dB[n]! + gh * u;
          accU += gh * b[rN + n]!;
          const e = das[sBase + n]!;
          if (t > 0) {
            // d exp(dt a)/d dt = e a, / d a = e dt
            const gE = gh * hs[pBase + n]! * e;
            accDelta += gE * a[aBase + n]!;
            gA[aBase + n] = gA[aBase + n]! + gE * dt;
          }
          g[gBase + n] = gh * e;
        }
        gDelta[r * D + i] = accDelta;
        gDx[r * D + i] = accU;
      }
      for (let n = 0; n < N; n++) {
        gB[rN + n] = dB[n]!;
        gC[rN + n] = dC[n]!;
      }
    }
  }
}

const cache = new WeakMap<Tf, Map<string, ScanFn>>();

/**
 * y [T * batch, inner] of the selective scan (see the module comment), with an exact custom
 * gradient for every input. Runs in JavaScript on the tensors' values on any backend.
 */
export function selectiveScan(
  tf: Tf,
  d: ScanDims,
  delta: Tensor2D,
  dx: Tensor2D,
  b: Tensor2D,
  c: Tensor2D,
  a: Tensor2D,
): Tensor2D {
  let fns = cache.get(tf);
  if (!fns) {
    fns = new Map();
    cache.set(tf, fns);
  }
  const key = `${d.T}x${d.batch}x${d.inner}x${d.state}`;
  let f = fns.get(key);
  if (!f) {
    f = tf.customGrad((...args) => {
      const [tDelta, tDx, tB, tC, tA] = args as unknown as Tensor2D[];
      const vDelta = tDelta!.dataSync() as Float32Array;
      const vDx = tDx!.dataSync() as Float32Array;
      const vB = tB!.dataSync() as Float32Array;
      const vC = tC!.dataSync() as Float32Array;
      const vA = tA!.dataSync() as Float32Array;
      const rows = d.T * d.batch;
      const y = new Float32Array(rows * d.inner);
      const states = rows * d.inner * d.state;
      const hs = new Float32Array(states);
      const das = new Float32Array(states);
      scanForward(d, vDelta, vDx, vB, vC, vA, y, hs, das);
      return {
        value: tf.tensor2d(y, [rows, d.inner]),
        gradFunc: (dy: Tensor) => {
          const gDelta = new Float32Array(rows * d.inner);
          const gDx = new Float32Array(rows * d.inner);
          const gB = new Float32Array(rows * d.state);
          const gC = new Float32Array(rows * d.state);
          const gA = new Float64Array(d.inner * d.state);
          const vdy = dy.dataSync() as Float32Array;
          scanBackward(d, vDelta, vDx, vB, vC, vA, hs, das, vdy, gDelta, gDx, gB, gC, gA);
          return [
            tf.tensor2d(gDelta, [rows, d.inner]),
            tf.tensor2d(gDx, [rows, d.inner]),
            tf.tensor2d(gB, [rows, d.state]),
            tf.tensor2d(gC, [rows, d.state]),
            tf.tensor2d(Float32Array.from(gA), [d.inner, d.state]),
          ];
        },
      };
    }) as unknown as ScanFn;
    fns.set(key, f);
  }
  return f(delta, dx, b, c, a);
}

/** The forward pass alone (no gradient kept): for inference over long sequences. */
export function selectiveScanNoGrad(
  tf: Tf,
  d: ScanDims,
  delta: Tensor2D,
  dx: Tensor2D,
  b: Tensor2D,
  c: Tensor2D,
  a: Tensor2D,
): Tensor2D {
  const y = new Float32Array(d.T * d.batch * d.inner);
  scanForward(
    d,
    delta.dataSync() as Float32Array,
    dx.dataSync() as Float32Array,
    b.dataSync() as Float32Array,
    c.dataSync() as Float32Array,
    a.dataSync() as Float32Array,
    y,
  );
  return tf.tensor2d(y, [d.T * d.batch, d.inner]);
}

/** The same scan as a loop of tensor ops over time (autodiff gradient): the reference. */
export function selectiveScanOps(
  tf: Tf,
  d: ScanDims,
  delta: Tensor2D,
  dx: Tensor2D,
  b: Tensor2D,
  c: Tensor2D,
  a: Tensor2D,
): Tensor2D {
  const { T, batch: B, inner: D, state: N } = d;
  const deltas = tf.unstack(tf.reshape(delta, [T, B, D, 1]));
  const dxs = tf.unstack(tf.reshape(dx, [T, B, D, 1]));
  const Bs = tf.unstack(tf.reshape(b, [T, B, 1, N]));
  const Cs = tf.unstack(tf.reshape(c, [T, B, 1, N]));
  let h: Tensor | undefined;
  const ys: Tensor[] = [];
  for (let t = 0; t < T; t++) {
    const bx = tf.mul(dxs[t]!, Bs[t]!);
    h = h ? tf.add(tf.mul(tf.exp(tf.mul(deltas[t]!, a)), h), bx) : bx;
    ys.push(tf.sum(tf.mul(h, Cs[t]!), 2));
  }
  return tf.concat(ys, 0) as Tensor2D;
}
