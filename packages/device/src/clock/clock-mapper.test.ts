import { describe, expect, it } from 'vitest';
import { ClockMapper } from './clock-mapper.js';

/** Mulberry32: small, fast, seeded; good enough for synthetic jitter. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const exponential = (mean: number) => (r: () => number) => -mean * Math.log(1 - r());
/** Pareto (heavy tail: infinite variance for shape < 2), shifted to start at 0, capped at `cap` µs. */
const pareto = (scale: number, shape: number, cap: number) => (r: () => number) =>
  Math.min(cap, scale * ((1 - r()) ** (-1 / shape) - 1));

interface StreamOptions {
  seed: number;
  durationS?: number;
  rateHz?: number;
  /** (host rate / device rate − 1) × 1e6, as a function of the device time elapsed (µs). */
  driftPpm?: number | ((elapsedDeviceUs: number) => number);
  jitter?: (r: () => number) => number;
  minLatencyUs?: number;
  deviceStartUs?: number;
  hostStartUs?: number;
  /** Stalls: every `stallEveryUs` of host time (first one half a period in), lasting `stallUs`. */
  stallEveryUs?: number;
  stallUs?: number;
  /** Time one frame takes on the wire: frames of a burst arrive this far apart. */
  frameWireUs?: number;
}

interface Stream {
  device: Float64Array;
  host: Float64Array;
  /** True send time on the host clock + the minimum latency: what `toHost(device)` should return. */
  expected: Float64Array;
  stalled: number;
}

function makeStream(o: StreamOptions): Stream {
  const r = rng(o.seed);
  const rateHz = o.rateHz ?? 1000;
  const n = Math.round((o.durationS ?? 60) * rateHz);
  const periodUs = 1e6 / rateHz;
  const drift = o.driftPpm ?? 0;
  const driftAt = typeof drift === 'number' ? () => drift : drift;
  const jitter = o.jitter ?? exponential(100);
  const minLatency = o.minLatencyUs ?? 500;
  const deviceStart = o.deviceStartUs ?? 123_456_789_000;
  const hostStart = o.hostStartUs ?? 9_876_543_210.5;
  const wire = o.frameWireUs ?? 20;
  const device = new Float64Array(n);
  const host = new Float64Array(n);
  const expected = new Float64Array(n);
  let send = hostStart;
  let prevArrival = Number.NEGATIVE_INFINITY;
  let stalled = 0;
  for (let k = 0; k < n; k++) {
    if (k > 0) send += periodUs * (1 + driftAt(k * periodUs) * 1e-6);
    device[k] = deviceStart + k * periodUs;
    expected[k] = send + minLatency;
    let arrival = send + minLatency + jitter(r);
    if (o.stallEveryUs !== undefined && o.stallUs !== undefined) {
      const t = send - hostStart + o.stallEveryUs / 2;
      const phase = t % o.stallEveryUs;
      if (t >= o.stallEveryUs && phase < o.stallUs) {
        arrival = Math.max(arrival, send + (o.stallUs - phase) + minLatency);
        stalled++;
      }
    }
    arrival = Math.max(arrival, prevArrival + wire);
    host[k] = arrival;
    prevArrival = arrival;
  }
  return { device, host, expected, stalled };
}

interface RunResult {
  mapper: ClockMapper;
  /** |toHost(device) − expected| evaluated online, right after each observe, past the warm-up. */
  onlineP99: number;
  onlineMax: number;
  /** Same, evaluated once at the end over the last window of samples. */
  finalMax: number;
}

function quantile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
}

function run(stream: Stream, mapper = new ClockMapper(), warmupUs = 10_000_000): RunResult {
  const { device, host, expected } = stream;
  const online: number[] = [];
  const start = device[0] ?? 0;
  for (let k = 0; k < device.length; k++) {
    mapper.observe(device[k]!, host[k]!);
    if (device[k]! - start >= warmupUs) online.push(Math.abs(mapper.toHost(device[k]!) - expected[k]!));
  }
  let finalMax = 0;
  const last = device[device.length - 1]!;
  for (let k = 0; k < device.length; k++) {
    if (device[k]! < last - mapper.windowUs) continue;
    finalMax = Math.max(finalMax, Math.abs(mapper.toHost(device[k]!) - expected[k]!));
  }
  return { mapper, onlineP99: quantile(online, 0.99), onlineMax: Math.max(...online), finalMax };
}

describe('ClockMapper', () => {
  it('(a) no drift, exponential jitter (mean 100 µs): drift ≈ 0 and the mapping sits on the true send time', () => {
    const res = run(makeStream({ seed: 1 }));
    expect(res.mapper.driftPpm).toBeGreaterThan(-5);
    expect(res.mapper.driftPpm).toBeLessThan(5);
    expect(Math.abs(res.mapper.driftPpm)).toBeLessThan(0.5);
    expect(res.mapper.fitted).toBe(true);
    expect(res.onlineMax).toBeLessThan(2);
    expect(res.finalMax).toBeLessThan(1);
    // The offset includes the 500 µs minimum latency: it is host − device at the latest frame.
    const offset = res.mapper.offsetUs;
    expect(offset).toBeCloseTo(9_876_543_210.5 + 500 - 123_456_789_000, -1);
  });

  it.each([
    { drift: 100, seed: 2 },
    { drift: -50, seed: 3 },
    { drift: 250, seed: 4 },
  ])('(b) drift $drift ppm is estimated within ±5 ppm, with the right sign', ({ drift, seed }) => {
    const res = run(makeStream({ seed, driftPpm: drift }));
    expect(res.mapper.driftPpm).toBeGreaterThan(drift - 5);
    expect(res.mapper.driftPpm).toBeLessThan(drift + 5);
    expect(Math.abs(res.mapper.driftPpm - drift)).toBeLessThan(0.5);
    expect(res.onlineMax).toBeLessThan(10);
    expect(res.finalMax).toBeLessThan(5);
  });

  it('(c) 300 ms stalls every 5 s (frames pile up, then a burst) leave the estimate unaffected', () => {
    const stream = makeStream({ seed: 5, driftPpm: 100, stallEveryUs: 5_000_000, stallUs: 300_000 });
    expect(stream.stalled).toBeGreaterThan(3000); // the scenario really stalls
    // A jitter window long enough to hold the last stall (57.5 s to 57.8 s).
    const res = run(stream, new ClockMapper({ jitterSamples: 5000 }));
    expect(res.mapper.driftPpm).toBeGreaterThan(95);
    expect(res.mapper.driftPpm).toBeLessThan(105);
    expect(res.onlineMax).toBeLessThan(10);
    expect(res.finalMax).toBeLessThan(5);
    // The stalls do show in the jitter, which is the point of reporting it.
    const j = res.mapper.jitter;
    expect(j.max).toBeGreaterThan(250_000);
    expect(j.max).toBeLessThan(310_000);
  });

  it('(c) a stall longer than a whole segment is still ignored by the lower hull', () => {
    const stream = makeStream({ seed: 6, driftPpm: -50, stallEveryUs: 7_000_000, stallUs: 1_500_000 });
    const res = run(stream);
    expect(res.mapper.driftPpm).toBeGreaterThan(-55);
    expect(res.mapper.driftPpm).toBeLessThan(-45);
    expect(res.finalMax).toBeLessThan(10);
  });

  it('heavy-tailed (Pareto) jitter: drift and mapping stay accurate', () => {
    const res = run(makeStream({ seed: 7, driftPpm: 80, jitter: pareto(50, 1.2, 500_000) }));
    expect(Math.abs(res.mapper.driftPpm - 80)).toBeLessThan(5);
    expect(res.onlineP99).toBeLessThan(10);
    expect(res.finalMax).toBeLessThan(10);
  });

  it('follows a change of drift within about one window', () => {
    const drift = (t: number) => (t < 30_000_000 ? 100 : -50);
    const stream = makeStream({ seed: 8, driftPpm: drift });
    const mapper = new ClockMapper();
    const { device, host } = stream;
    let at25 = Number.NaN;
    for (let k = 0; k < device.length; k++) {
      mapper.observe(device[k]!, host[k]!);
      if (k === 25_000) at25 = mapper.driftPpm;
    }
    expect(Math.abs(at25 - 100)).toBeLessThan(5);
    expect(Math.abs(mapper.driftPpm + 50)).toBeLessThan(5);
  });

  it('(d) jitter percentiles match the injected exponential distribution', () => {
    const mean = 100;
    const res = run(makeStream({ seed: 9, driftPpm: 30, jitter: exponential(mean) }));
    const j = res.mapper.jitter;
    expect(j.count).toBe(2000);
    const p50 = mean * Math.LN2; // 69.3 µs
    const p99 = mean * Math.log(100); // 460.5 µs
    expect(j.p50).toBeGreaterThan(p50 * 0.9);
    expect(j.p50).toBeLessThan(p50 * 1.1);
    expect(j.p99).toBeGreaterThan(p99 * 0.8);
    expect(j.p99).toBeLessThan(p99 * 1.2);
    expect(j.max).toBeGreaterThanOrEqual(j.p99);
    expect(j.max).toBeLessThan(mean * 15);
  });

  it('the mapping is a lower envelope: residuals within the window are (almost) never negative', () => {
    const stream = makeStream({ seed: 10, driftPpm: -120 });
    const mapper = new ClockMapper();
    const { device, host } = stream;
    for (let k = 0; k < device.length; k++) mapper.observe(device[k]!, host[k]!);
    const last = device[device.length - 1]!;
    let minResidual = Number.POSITIVE_INFINITY;
    for (let k = 0; k < device.length; k++) {
      if (device[k]! < last - mapper.windowUs) continue;
      minResidual = Math.min(minResidual, host[k]! - mapper.toHost(device[k]!));
    }
    expect(minResidual).toBeGreaterThan(-2);
    expect(minResidual).toBeLessThan(1);
  });

  it('minLatencyUs shifts the mapping onto the true send time', () => {
    const stream = makeStream({ seed: 11, driftPpm: 40, minLatencyUs: 700 });
    const mapper = new ClockMapper({ minLatencyUs: 700 });
    const { device, host, expected } = stream;
    for (let k = 0; k < device.length; k++) mapper.observe(device[k]!, host[k]!);
    const k = device.length - 1;
    expect(Math.abs(mapper.toHost(device[k]!) - (expected[k]! - 700))).toBeLessThan(2);
    expect(mapper.jitter.p50).toBeGreaterThan(700 + 60);
    expect(mapper.jitter.p50).toBeLessThan(700 + 80);
  });

  it('before enough samples: zero drift, offset from the smallest host − device seen', () => {
    const mapper = new ClockMapper({ minSamples: 10 });
    expect(mapper.driftPpm).toBe(0);
    expect(mapper.fitted).toBe(false);
    expect(Number.isNaN(mapper.offsetUs)).toBe(true);
    expect(() => mapper.toHost(0)).toThrow(/no samples/);
    const offsets = [530, 512, 700, 505, 9000];
    offsets.forEach((off, i) => {
      mapper.observe(1_000 + i * 1_000, 1_000 + i * 1_000 + off);
    });
    expect(mapper.driftPpm).toBe(0);
    expect(mapper.fitted).toBe(false);
    expect(mapper.toHost(50_000)).toBe(50_505);
    expect(mapper.offsetUs).toBe(505);
  });

  it('becomes fitted once the samples span a segment, and the drift is then sensible', () => {
    const stream = makeStream({ seed: 12, driftPpm: 100, durationS: 3 });
    const mapper = new ClockMapper();
    const { device, host } = stream;
    let firstFitted = -1;
    for (let k = 0; k < device.length; k++) {
      mapper.observe(device[k]!, host[k]!);
      if (firstFitted < 0 && mapper.fitted) firstFitted = k;
    }
    expect(firstFitted).toBeGreaterThan(1000);
    expect(firstFitted).toBeLessThan(1100);
    expect(Math.abs(mapper.driftPpm - 100)).toBeLessThan(20);
  });

  it('(e) reset forgets the old epoch; a new epoch is mapped on its own', () => {
    const a = makeStream({ seed: 13, driftPpm: 100, durationS: 20 });
    const mapper = new ClockMapper();
    run(a, mapper);
    expect(Math.abs(mapper.driftPpm - 100)).toBeLessThan(5);

    mapper.reset();
    expect(mapper.sampleCount).toBe(0);
    expect(mapper.driftPpm).toBe(0);
    expect(mapper.fitted).toBe(false);
    expect(Number.isNaN(mapper.offsetUs)).toBe(true);
    expect(mapper.jitter).toEqual({ p50: 0, p99: 0, max: 0, count: 0 });
    expect(() => mapper.toHost(1)).toThrow(/no samples/);

    // Rebooted device: clock restarts near 0, the host clock carries on, the crystal warmed up.
    const b = makeStream({
      seed: 14,
      driftPpm: -50,
      durationS: 20,
      deviceStartUs: 1_000,
      hostStartUs: 9_876_543_210.5 + 25e6,
    });
    const res = run(b, mapper);
    expect(Math.abs(mapper.driftPpm + 50)).toBeLessThan(5);
    expect(res.finalMax).toBeLessThan(5);
    expect(mapper.sampleCount).toBe(20_000);
  });

  it('(e) a device clock that steps backwards (reboot) resets by itself', () => {
    const mapper = new ClockMapper();
    run(makeStream({ seed: 15, driftPpm: 100, durationS: 15 }), mapper);
    const b = makeStream({ seed: 16, driftPpm: -50, durationS: 15, deviceStartUs: 0, hostStartUs: 5e10 });
    mapper.observe(b.device[0]!, b.host[0]!);
    expect(mapper.sampleCount).toBe(1);
    expect(mapper.driftPpm).toBe(0);
    const res = run(b, mapper);
    expect(Math.abs(mapper.driftPpm + 50)).toBeLessThan(5);
    expect(res.finalMax).toBeLessThan(5);
  });

  it('works at other rates and with a shorter window', () => {
    const stream = makeStream({ seed: 17, rateHz: 250, driftPpm: -75, jitter: exponential(300) });
    const res = run(stream, new ClockMapper({ windowUs: 5_000_000, segmentUs: 500_000 }));
    expect(Math.abs(res.mapper.driftPpm + 75)).toBeLessThan(5);
    expect(res.finalMax).toBeLessThan(30);
  });

  it('(f) garbage inputs throw a RangeError naming the argument', () => {
    const mapper = new ClockMapper();
    expect(() => mapper.observe(Number.NaN, 1)).toThrow(RangeError);
    expect(() => mapper.observe(Number.NaN, 1)).toThrow(/deviceUs/);
    expect(() => mapper.observe(1, Number.NaN)).toThrow(RangeError);
    expect(() => mapper.observe(1, Number.NaN)).toThrow(/hostUs/);
    expect(() => mapper.observe(Number.POSITIVE_INFINITY, 1)).toThrow(/deviceUs/);
    expect(() => mapper.observe(1, Number.NEGATIVE_INFINITY)).toThrow(/hostUs/);
    expect(mapper.sampleCount).toBe(0); // rejected samples leave no trace
    mapper.observe(1, 2);
    expect(() => mapper.toHost(Number.NaN)).toThrow(RangeError);
    expect(() => mapper.toHost(Number.NaN)).toThrow(/deviceUs/);

    expect(() => new ClockMapper({ windowUs: Number.NaN })).toThrow(/windowUs/);
    expect(() => new ClockMapper({ windowUs: -1 })).toThrow(RangeError);
    expect(() => new ClockMapper({ segmentUs: 0 })).toThrow(/segmentUs/);
    expect(() => new ClockMapper({ windowUs: 1e6, segmentUs: 1e6 })).toThrow(/twice segmentUs/);
    expect(() => new ClockMapper({ minSamples: 0 })).toThrow(/minSamples/);
    expect(() => new ClockMapper({ minSamples: 1.5 })).toThrow(/minSamples/);
    expect(() => new ClockMapper({ jitterSamples: Number.NaN })).toThrow(/jitterSamples/);
    expect(() => new ClockMapper({ minLatencyUs: -1 })).toThrow(/minLatencyUs/);
  });
});
