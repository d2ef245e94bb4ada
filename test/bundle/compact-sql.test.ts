/**
 * The bundles carry the migrations' SQL compacted (scripts/compact-sql.ts, applied by scripts/build.ts):
 * the compacted text must build exactly the schema the source text builds, and the lexer must leave
 * quoted text alone and refuse what it does not understand.
 */
import { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable } from '#lib/db';
import { MIGRATIONS, migrate } from '#lib/migrations';
import { compactSql } from '../../scripts/compact-sql';

describe('compactSql', () => {
  test('drops comments and indentation, keeps quoted text, parameters and operators as they are', () => {
    const sql = `
      -- a comment
      SELECT 'a  -- not a comment', "Odd  ""Name""",   $1::int - -2,  media->>'size'  -- trailing
        FROM   t;
    `;
    expect(compactSql(sql)).toBe(`SELECT 'a  -- not a comment', "Odd  ""Name""", $1::int - -2, media->>'size'\nFROM t;`);
  });

  test("a dollar-quoted body keeps its line breaks (PL/pgSQL errors name lines), and its own quotes' contents", () => {
    const sql = `CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $fn$
      BEGIN
        -- why
        RETURN 'x   y $$ -- z';
      END
      $fn$;`;
    const compacted = compactSql(sql);
    const body = (text: string) => text.slice(text.indexOf('$fn$') + 4, text.lastIndexOf('$fn$'));
    expect(body(compacted).split('\n')).toHaveLength(body(sql).split('\n').length);
    expect(compacted).toContain("RETURN 'x   y $$ -- z';");
    expect(compacted).not.toContain('why');
  });

  test('refuses block comments, E strings and unterminated quotes', () => {
    expect(() => compactSql('SELECT 1 /* x */')).toThrow(/block comments/);
    expect(() => compactSql("SELECT E'\\''")).toThrow(/E'/);
    expect(() => compactSql("SELECT 'x")).toThrow(/unterminated/);
    expect(() => compactSql('SELECT $q$ x')).toThrow(/unterminated/);
  });

  test('the migrations shrink by at least a quarter', () => {
    const source = MIGRATIONS.reduce((n, m) => n + m.sql.length, 0);
    const compacted = MIGRATIONS.reduce((n, m) => n + compactSql(m.sql).length, 0);
    expect(compacted).toBeLessThan(source * 0.75);
  });
});

/** lib/migrations.ts's `migrate` needs only this much of a Database. */
function pgliteDatabase(pg: PGlite): Database {
  const on = (q: PGlite | Parameters<Parameters<PGlite['transaction']>[0]>[0]): Queryable => ({
    query: async <R>(sql: string, params: readonly unknown[] = []) => {
      const result = await q.query<R>(sql, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    exec: async (sql: string) => {
      await q.exec(sql);
    },
  });
  return {
    engine: 'pglite',
    ...on(pg),
    transaction: (fn) => pg.transaction((tx) => fn(on(tx))),
    close: () => pg.close(),
  };
}

/** Everything the migrations create, as PostgreSQL describes it back. */
async function schema(db: Database): Promise<Record<string, unknown[]>> {
  const rows = async (sql: string) => (await db.query(sql)).rows;
  return {
    columns: await rows(`SELECT table_name, column_name, data_type, column_default, is_nullable, ordinal_position
      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`),
    constraints: await rows(`SELECT conrelid::regclass::text AS rel, conname, pg_get_constraintdef(oid) AS def
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY rel, conname`),
    indexes: await rows(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname`),
    triggers: await rows(`SELECT tgname, pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`),
    functions: await rows(`SELECT proname, pg_get_function_arguments(oid) AS args, pg_get_function_result(oid) AS result,
        prolang::regproc::text AS lang, provolatile, prosrc
      FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY proname`),
  };
}

test('the compacted migrations build the same schema as the source ones (functions: same code, same lines)', async () => {
  const source = pgliteDatabase(await PGlite.create());
  const compacted = pgliteDatabase(await PGlite.create());
  try {
    expect(await migrate(source)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(
      await migrate(
        compacted,
        MIGRATIONS.map((m) => ({ ...m, sql: compactSql(m.sql) })),
      ),
    ).toEqual(MIGRATIONS.map((m) => m.version));
    const [a, b] = [await schema(source), await schema(compacted)];
    expect(a.functions!.length).toBeGreaterThan(3);
    const { functions: fa, ...restA } = a;
    const { functions: fb, ...restB } = b;
    expect(restB).toEqual(restA);
    // A function's source text is what was compacted: the same tokens on the same number of lines.
    const code = (fns: unknown[]) =>
      (fns as Array<Record<string, string>>).map(({ prosrc, ...fn }) => ({
        ...fn,
        tokens: compactSql(prosrc!),
        lines: prosrc!.split('\n').length,
      }));
    expect(code(fb!)).toEqual(code(fa!));
  } finally {
    await source.close();
    await compacted.close();
  }
}, 60_000);
