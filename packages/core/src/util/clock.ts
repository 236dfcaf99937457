import { performance } from 'node:perf_hooks';

/** A clock in microseconds. Stages take one so tests can drive time themselves. */
export type ClockUs = () => number;

/** Host time in microseconds on the monotonic performance clock. */
export const hostClockUs: ClockUs = () => performance.now() * 1000;
