import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import { InvalidOptionError } from '../errors.js';
import type { Frame } from '../types.js';
import { type ClockUs, hostClockUs } from '../util/clock.js';

export interface RealtimeSourceOptions {
  /** 1 = real time, 10 = ten times faster. Default 1. */
  readonly speed?: number;
  /** How often the source wakes to emit the frames that have come due, in ms. Default 5. */
  readonly tickMs?: number;
  /** Stop after this many frames (default: never). */
  readonly maxFrames?: number;
  readonly scheduler?: SchedulerLike;
  /** Stamps `receivedUs` on each frame. */
  readonly clock?: ClockUs;
}

/**
 * Paces a frame generator (the simulator's `nextFrame`, a file, ...) in real time: every tick it
 * emits all frames whose device time has come, measured against the wall time since subscription,
 * so the stream never drifts however long it runs. Each frame is stamped with `receivedUs`.
 */
export function realtimeFrames(next: () => Frame, options: RealtimeSourceOptions = {}): Observable<Frame> {
  const speed = options.speed ?? 1;
  if (!(speed > 0 && Number.isFinite(speed)))
    throw new InvalidOptionError('speed', 'must be a positive number');
  const tickMs = options.tickMs ?? 5;
  const scheduler = options.scheduler ?? asyncScheduler;
  const clock = options.clock ?? hostClockUs;
  const maxFrames = options.maxFrames ?? Number.POSITIVE_INFINITY;
  return new Observable<Frame>((subscriber) => {
    const startMs = scheduler.now();
    let pending: Frame | undefined;
    let firstDeviceUs: number | undefined;
    let emitted = 0;
    const sub = scheduler.schedule(function tick() {
      const elapsedUs = (scheduler.now() - startMs) * 1000 * speed;
      while (emitted < maxFrames && !subscriber.closed) {
        pending ??= next();
        firstDeviceUs ??= pending.deviceTimeUs;
        // A frame is due once its whole sub-bin has elapsed on the paced clock.
        if (pending.deviceTimeUs + pending.durationUs - firstDeviceUs > elapsedUs) break;
        const frame = { ...pending, receivedUs: clock() };
        pending = undefined;
        emitted++;
        subscriber.next(frame);
      }
      if (emitted >= maxFrames) subscriber.complete();
      else if (!subscriber.closed) this.schedule(undefined, tickMs);
    }, 0);
    return () => sub.unsubscribe();
  });
}
