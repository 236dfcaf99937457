import type { Firmware } from './firmware.js';

/**
 * Runs a firmware in real time on timers: polls it about every millisecond while it streams (so data
 * leaves when due) and every few milliseconds otherwise (to release stalls). `unref` keeps an idle
 * driver from holding a process open.
 */
export class FirmwareDriver {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    readonly firmware: Firmware,
    private readonly options: { unref?: boolean; idlePollMs?: number } = {},
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Polls at once (e.g. after a command arrived) and reschedules. */
  kick(): void {
    if (!this.running) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.tick();
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.running) return;
    this.firmware.poll();
    const dueUs = this.firmware.usUntilNextPacket();
    const idleMs = this.options.idlePollMs ?? 5;
    this.schedule(Number.isFinite(dueUs) ? Math.min(idleMs, dueUs / 1000) : idleMs);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.tick(), Math.max(0, ms));
    if (this.options.unref) this.timer.unref();
  }
}
