/**
 * A progress bar on stderr for long jobs. On a terminal it redraws one line; elsewhere it prints a
 * line at every tenth so logs stay readable. It never writes to stdout, which is kept for results
 * (`--json`).
 */
export class Progress {
  private lastDraw = 0;
  private lastLine = Date.now();
  private readonly tty: boolean;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(fraction: number, message = ''): void {
    if (!this.enabled) return;
    const f = Math.min(1, Math.max(0, fraction));
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 80 && f < 1) return;
      this.lastDraw = now;
      const width = 28;
      const filled = Math.round(f * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const eta =
        f > 0.02 && f < 1 ? ` eta ${Math.round((((now - this.started) / f) * (1 - f)) / 1000)}s` : '';
      this.stream.write(
        `\r\x1b[2K${this.label} ${bar} ${(f * 100).toFixed(0).padStart(3)}%${eta} ${message}`,
      );
    } else {
      // Not a terminal (a log, CI): a line every few seconds, so short jobs print only 'done'.
      const now = Date.now();
      if (now - this.lastLine < 3000 || f >= 1) return;
      this.lastLine = now;
      this.stream.write(`${this.label} ${(f * 100).toFixed(0)}% ${message}\n`);
    }
  }

  done(message = ''): void {
    if (!this.enabled) return;
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    if (this.tty) this.stream.write(`\r\x1b[2K${this.label} done in ${secs}s ${message}\n`);
    else this.stream.write(`${this.label} done in ${secs}s ${message}\n`);
  }
}
