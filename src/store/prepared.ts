/**
 * Queries built and compiled once, run many times with new parameters. Kysely builds and compiles
 * every query on every call (immutable builder nodes, a visitor, frozen objects), which for the
 * hot lookups of a no-change Sync costs more than running them. Here the query is compiled once
 * with marker values in place of the parameters; each run copies the compiled SQL and puts the
 * real values where the markers were (other parameters, such as constants, stay as compiled).
 * Works the same on every dialect, since only the parameter list changes.
 */
import { createQueryId, type Compilable, type CompiledQuery, type Kysely } from 'kysely';

const marker = (i: number) => `\u0000easd-parameter-${i}\u0000`;

export type PreparedQuery<P extends unknown[], R> = (...params: P) => Promise<R[]>;

export function prepareQuery<P extends string[], R>(db: Kysely<any>, arity: P['length'], build: (...params: P) => Compilable<R>): PreparedQuery<P, R> {
  const markers = Array.from({ length: arity }, (_, i) => marker(i)) as P;
  const compiled: CompiledQuery<R> = build(...markers).compile();
  const slots = compiled.parameters.map((p) => (typeof p === 'string' ? markers.indexOf(p) : -1));
  for (let i = 0; i < arity; i++) {
    if (!slots.includes(i)) throw new Error(`prepared query does not use parameter ${i}: ${compiled.sql}`);
  }
  return async (...params: P) => {
    const parameters = slots.map((slot, j) => (slot >= 0 ? params[slot] : compiled.parameters[j]));
    const res = await db.executeQuery<R>({ query: compiled.query, queryId: createQueryId(), sql: compiled.sql, parameters });
    return res.rows;
  };
}
