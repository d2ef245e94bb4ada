/**
 * Removes what PostgreSQL ignores from a migration's SQL text, for the bundles (scripts/build.ts): `--`
 * comments and runs of whitespace (indentation, column alignment) outside quoted text. String literals
 * ('…'), quoted identifiers ("…") are copied as they are; the bodies of dollar-quoted blocks ($$…$$,
 * $fn$…$fn$: the functions and triggers) are compacted the same way but keep every line break, so a
 * PL/pgSQL error still names the line of the source. Anything this lexer does not understand (block
 * comments, E'…' strings with backslash escapes, an unterminated quote) is refused, not guessed at.
 */

const IDENTIFIER_CHAR = /[A-Za-z0-9_$]/;

export function compactSql(sql: string): string {
  return compact(sql, false);
}

function compact(sql: string, keepLines: boolean): string {
  let out = '';
  let pendingSpace = false;
  let pendingLines = 0;
  const emit = (text: string) => {
    if (pendingLines > 0 && (keepLines || out !== '')) out += '\n'.repeat(keepLines ? pendingLines : 1);
    else if (pendingSpace && out !== '') out += ' ';
    pendingSpace = false;
    pendingLines = 0;
    out += text;
  };
  let i = 0;
  while (i < sql.length) {
    const char = sql[i]!;
    if (char === ' ' || char === '\t' || char === '\r' || char === '\n') {
      if (char === '\n') pendingLines++;
      else pendingSpace = true;
      i++;
    } else if (char === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (char === '/' && sql[i + 1] === '*') {
      throw new Error(`compactSql: block comments are not supported (at ${i})`);
    } else if (char === "'" || char === '"') {
      if (char === "'" && /[Ee]/.test(sql[i - 1] ?? '') && !IDENTIFIER_CHAR.test(sql[i - 2] ?? ' ')) {
        throw new Error(`compactSql: E'…' strings are not supported (at ${i - 1})`);
      }
      const end = sql.indexOf(char, i + 1);
      if (end < 0) throw new Error(`compactSql: unterminated ${char} at ${i}`);
      emit(sql.slice(i, end + 1));
      i = end + 1;
    } else if (char === '$' && !IDENTIFIER_CHAR.test(sql[i - 1] ?? ' ') && /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.test(sql.slice(i))) {
      const tag = /^\$[A-Za-z_]?[A-Za-z0-9_]*\$/.exec(sql.slice(i))![0];
      const end = sql.indexOf(tag, i + tag.length);
      if (end < 0) throw new Error(`compactSql: unterminated ${tag} at ${i}`);
      emit(`${tag}${compact(sql.slice(i + tag.length, end), true)}${tag}`);
      i = end + tag.length;
    } else {
      let end = i + 1;
      while (end < sql.length && !/[\s'"$-]/.test(sql[end]!) && !(sql[end] === '/' && sql[end + 1] === '*')) end++;
      emit(sql.slice(i, end));
      i = end;
    }
  }
  // Trailing line breaks of a dollar-quoted body are kept too (they end its last line).
  if (keepLines && pendingLines > 0) out += '\n'.repeat(pendingLines);
  return out;
}
