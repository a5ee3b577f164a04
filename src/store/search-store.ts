/**
 * SearchStore over Kysely: FTS5 (`search_fts`) on SQLite, a tsvector table (`search_docs`)
 * on PostgreSQL, positions in `search_positions` (migration 0004_sending).
 *
 * Both backends are fed the same normalised words (`searchWords`: lowercased, diacritics
 * removed, split at every non-letter, non-digit), so "bob@example.com" is the three words bob,
 * example, com on both, and PostgreSQL's parser never sees an e-mail address or URL as one
 * token. Queries are prefix queries per word ("w"* in FTS5, 'w':* in tsquery) joined with
 * AND and OR as the IndexExpr says (every word of a plain `text` required).
 */
import { sql, SqliteAdapter, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from './schema.ts';
import { MAX_FIELD_CHARS, searchWords, type IndexExpr, type SearchDoc, type SearchHit, type SearchQuery, type SearchStore } from './search-types.ts';
import { StoreError } from './types.ts';

export { MAX_FIELD_CHARS, searchWords };
/** At most this many words of a query are used. */
const MAX_QUERY_WORDS = 16;

function normalised(text: string): string {
  return searchWords(text.length > MAX_FIELD_CHARS ? text.slice(0, MAX_FIELD_CHARS) : text).join(' ');
}

export class KyselySearchStore implements SearchStore {
  readonly #db: Kysely<Database>;
  readonly #sqlite: boolean;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.#sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  }

  async getPosition(userId: string, folderId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('search_positions')
      .select('indexed_modseq')
      .where('user_id', '=', userId)
      .where('folder_id', '=', folderId)
      .executeTakeFirst();
    return row ? Number(row.indexed_modseq) : 0;
  }

  async applyBatch(
    userId: string,
    folderId: string,
    from: number,
    to: number,
    docs: readonly SearchDoc[],
    removedItemIds: readonly string[],
  ): Promise<boolean> {
    if (!Number.isSafeInteger(to) || to < from) throw new StoreError('invalid', `search position cannot move from ${from} to ${to}`);
    return this.#db.transaction().execute(async (trx) => {
      // Move the position first: on pg the row lock (or the insert's unique key) makes a
      // concurrent catch-up of the same folder wait here and then find the position moved.
      let moved: boolean;
      if (from === 0) {
        const r = await trx
          .insertInto('search_positions')
          .values({ user_id: userId, folder_id: folderId, indexed_modseq: to })
          .onConflict((oc) => oc.columns(['user_id', 'folder_id']).doUpdateSet({ indexed_modseq: to }).where('search_positions.indexed_modseq', '=', 0))
          .returning('folder_id')
          .executeTakeFirst();
        moved = r !== undefined;
      } else {
        const r = await trx
          .updateTable('search_positions')
          .set({ indexed_modseq: to })
          .where('user_id', '=', userId)
          .where('folder_id', '=', folderId)
          .where('indexed_modseq', '=', from)
          .returning('folder_id')
          .executeTakeFirst();
        moved = r !== undefined;
      }
      if (!moved) return false;
      const ids = [...new Set([...removedItemIds, ...docs.map((d) => d.itemId)])];
      const table = this.#sqlite ? sql.table('search_fts') : sql.table('search_docs');
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        await sql`delete from ${table} where user_id = ${userId} and item_id in (${sql.join(chunk)})`.execute(trx);
      }
      // Many rows per statement: one round trip per 100 documents on PostgreSQL.
      for (let i = 0; i < docs.length; i += 100) {
        const rows = docs
          .slice(i, i + 100)
          .map(
            (d) =>
              sql`(${d.itemId}, ${userId}, ${d.folderId}, ${d.conversationId}, ${d.received}, ${normalised(d.subject)}, ${normalised(d.addresses)}, ${normalised(d.body)})`,
          );
        await sql`insert into ${table} (item_id, user_id, folder_id, conversation_id, received, subject, addresses, body) values ${sql.join(rows)}`.execute(trx);
      }
      return true;
    });
  }

  async search(q: SearchQuery): Promise<{ total: number; hits: SearchHit[] }> {
    const words = q.text === undefined ? [] : searchWords(q.text).slice(0, MAX_QUERY_WORDS);
    const textExpr: IndexExpr | undefined = words.length > 0 ? { kind: 'and', children: words.map((word) => ({ kind: 'word', word })) } : undefined;
    const exprs = [textExpr, q.match === undefined ? undefined : boundedExpr(q.match)].filter((e): e is IndexExpr => e !== undefined);
    if (exprs.length === 0 && q.conversationId === undefined) return { total: 0, hits: [] };
    if (q.folderIds !== undefined && q.folderIds.length === 0) return { total: 0, hits: [] };
    const expr = simplify({ kind: 'and', children: exprs });
    const conds: RawBuilder<unknown>[] = [sql`d.user_id = ${q.userId}`];
    let from: RawBuilder<unknown>;
    if (this.#sqlite) {
      from = sql`search_fts d`;
      if (expr.kind !== 'all') conds.push(sql`search_fts match ${ftsQuery(expr)}`);
    } else {
      from = sql`search_docs d`;
      if (expr.kind !== 'all') conds.push(sql`d.doc @@ to_tsquery('simple', ${tsQuery(expr)})`);
    }
    if (q.folderIds !== undefined) conds.push(sql`d.folder_id in (${sql.join([...q.folderIds])})`);
    if (q.conversationId !== undefined) conds.push(sql`d.conversation_id = ${q.conversationId}`);
    if (q.receivedAfter !== undefined) conds.push(sql`d.received > ${q.receivedAfter}`);
    if (q.receivedBefore !== undefined) conds.push(sql`d.received < ${q.receivedBefore}`);
    const where = sql.join(conds, sql` and `);
    const join = sql`join items i on i.id = d.item_id and i.user_id = d.user_id and i.deleted = 0`;
    const count = await sql<{ n: number | string }>`select count(*) as n from ${from} ${join} where ${where}`.execute(this.#db);
    const total = Number(count.rows[0]?.n ?? 0);
    if (total === 0 || q.limit <= 0) return { total, hits: [] };
    const rows = await sql<{ item_id: string; folder_id: string }>`
      select d.item_id, d.folder_id from ${from} ${join} where ${where}
      order by d.received desc, d.item_id limit ${q.limit} offset ${q.offset}`.execute(this.#db);
    return { total, hits: rows.rows.map((r) => ({ itemId: r.item_id, folderId: r.folder_id })) };
  }

  async reset(userId: string, folderId?: string): Promise<void> {
    const table = this.#sqlite ? sql.table('search_fts') : sql.table('search_docs');
    await this.#db.transaction().execute(async (trx) => {
      let pos = trx.deleteFrom('search_positions').where('user_id', '=', userId);
      if (folderId !== undefined) pos = pos.where('folder_id', '=', folderId);
      await pos.execute();
      if (folderId === undefined) await sql`delete from ${table} where user_id = ${userId}`.execute(trx);
      else await sql`delete from ${table} where user_id = ${userId} and folder_id = ${folderId}`.execute(trx);
    });
  }
}

/** At most this many words of a word query reach the SQL (the rest of a larger query is dropped). */
const MAX_EXPR_WORDS = 64;

/**
 * The word query with every word passed through `searchWords` again (so only letters and digits
 * reach the query text: a word that is several words becomes their And, one that is none
 * matches everything) and at most MAX_EXPR_WORDS words, the later ones dropped.
 */
function boundedExpr(e: IndexExpr): IndexExpr {
  let left = MAX_EXPR_WORDS;
  const walk = (x: IndexExpr): IndexExpr | undefined => {
    switch (x.kind) {
      case 'all':
        return x;
      case 'word': {
        const ws = searchWords(x.word);
        if (ws.length === 0) return { kind: 'all' };
        if (ws.length > left) return undefined;
        left -= ws.length;
        return ws.length === 1 ? { kind: 'word', word: ws[0]! } : { kind: 'and', children: ws.map((word) => ({ kind: 'word', word })) };
      }
      default: {
        const children = x.children.map(walk).filter((c): c is IndexExpr => c !== undefined);
        return { kind: x.kind, children };
      }
    }
  };
  return walk(e) ?? { kind: 'all' };
}

/** `all` absorbed: dropped from an And, taking over an Or; an empty And is `all`, an empty Or too. */
function simplify(e: IndexExpr): IndexExpr {
  if (e.kind === 'word' || e.kind === 'all') return e;
  const children = e.children.map(simplify);
  if (e.kind === 'or' && children.some((c) => c.kind === 'all')) return { kind: 'all' };
  const kept = children.filter((c) => c.kind !== 'all');
  if (kept.length === 0) return { kind: 'all' };
  return kept.length === 1 ? kept[0]! : { kind: e.kind, children: kept };
}

/** FTS5 query text: each word quoted (letters and digits only, so no quote inside) with a prefix star. */
function ftsQuery(e: IndexExpr): string {
  if (e.kind === 'word') return `"${e.word}"*`;
  if (e.kind === 'all') throw new StoreError('invalid', 'an unrestricted word query has no FTS5 form');
  return `(${e.children.map(ftsQuery).join(e.kind === 'and' ? ' AND ' : ' OR ')})`;
}

/** tsquery text: prefix matches of each word. */
function tsQuery(e: IndexExpr): string {
  if (e.kind === 'word') return `'${e.word}':*`;
  if (e.kind === 'all') throw new StoreError('invalid', 'an unrestricted word query has no tsquery form');
  return `(${e.children.map(tsQuery).join(e.kind === 'and' ? ' & ' : ' | ')})`;
}

