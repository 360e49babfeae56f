/**
 * A background job of the hub: runs `body` now, then again every `everyMs` or as soon as it is
 * kicked, never twice at once. Errors are logged and the loop goes on (the same error again only
 * once a minute, so that an unreachable chain does not flood the log). With a `gate` (the
 * network's leader lease, see leader.ts), a run happens only while the gate says yes.
 */
export class Loop {
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private kicked = false;
  private readonly stop$ = new AbortController();
  private lastError = { message: '', at: 0 };
  /** Runs of the body, one after the other (the loop's and runNow's). */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly everyMs: number,
    private readonly body: (signal: AbortSignal) => Promise<void>,
    private readonly log: (line: string) => void,
    private readonly gate: () => Promise<boolean> = async () => true,
  ) {}

  private async gated(signal: AbortSignal): Promise<void> {
    if (await this.gate()) await this.body(signal);
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Runs the body again as soon as the current run (if any) ends. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Runs the body once more, after any run in progress; resolves (or rejects) with that run. */
  runNow(): Promise<void> {
    return this.exclusive(() => this.gated(this.stop$.signal));
  }

  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops after the current run; resolves once it has ended. */
  async stop(): Promise<void> {
    this.stop$.abort();
    this.wake?.();
    await this.running;
    await this.queue;
  }

  private report(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const now = Date.now();
    if (message === this.lastError.message && now - this.lastError.at < 60_000) return;
    this.lastError = { message, at: now };
    this.log(`${this.name}: ${message}`);
  }

  private async run(): Promise<void> {
    const signal = this.stop$.signal;
    while (!signal.aborted) {
      this.kicked = false;
      try {
        await this.exclusive(() => this.gated(signal));
      } catch (err) {
        if (!signal.aborted) this.report(err);
      }
      if (signal.aborted || this.kicked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.everyMs);
        timer.unref();
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
    }
  }
}
