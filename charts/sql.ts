/**
 * Quoting for the SQL and psql meta-commands the init script is made of. Every database and role
 * name is quoted, so PostgreSQL keeps its case ("yourUser" stays yourUser instead of folding to
 * youruser) and no name can end a statement, whatever the spec's name rules allow.
 */

/** An SQL identifier: "name", with " doubled. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** An SQL string literal: 'text', with ' doubled (standard_conforming_strings is on since 9.1). */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A psql meta-command argument (\connect, \set): single-quoted, where psql reads \ escapes and '' as '. */
export function psqlArg(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
