// A pass every `intervalMs` until stopped: a failed pass is handed to `onError` and the next one runs as usual.
export class PollLoop {
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly pass: () => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  get stopped(): boolean {
    return this.stopping;
  }

  async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.pass();
      } catch (error) {
        this.onError(error);
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.intervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Ends `run()` after the pass in flight; a wait between passes ends at once. */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }
}
