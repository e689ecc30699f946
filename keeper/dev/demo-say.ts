// The demo's console: time-stamped lines, and a "waiting for ..." line whenever the demo has printed nothing
// for a few seconds, so that a slow step always says what it is waiting for.
const QUIET_MS = 5_000;
const REPEAT_MS = 30_000;

export class DemoConsole {
  private readonly t0 = Date.now();
  private lastLineMs = Date.now();
  private lastWaiting: string | undefined;

  say(line: string): void {
    console.log(`[${((Date.now() - this.t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
    this.lastLineMs = Date.now();
  }

  /** A line without the time stamp (the table). */
  print(line = ''): void {
    console.log(line);
    this.lastLineMs = Date.now();
  }

  /** Called while waiting: prints `waiting for <what>…` after QUIET_MS of silence, again when `what` changes
   * or after REPEAT_MS. */
  waiting(what: string): void {
    const quiet = Date.now() - this.lastLineMs;
    if (quiet < QUIET_MS || (what === this.lastWaiting && quiet < REPEAT_MS)) return;
    this.lastWaiting = what;
    this.say(`waiting for ${what}…`);
  }
}
