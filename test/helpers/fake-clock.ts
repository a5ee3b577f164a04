/** A clock the test moves by hand, for stores and backends that take `now: () => Date`. */
export class FakeClock {
  ms = Date.parse('2025-03-01T08:00:00.000Z');
  readonly now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}
