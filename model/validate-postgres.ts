/**
 * Checks of a postgres component that need the whole spec: each database listed once, and logins
 * whose Secrets stay apart. Logins keep their case in PostgreSQL ("App" and "app" are two roles),
 * but their Secret names are lower-case DNS labels (relations.ts loginLabel), so two logins of one
 * server that differ only in case, or in "_" versus "-", are refused rather than share a password.
 */
import { formatPath } from './errors';
import { normalizeRelation, readOnlyLogin, secretNames } from './relations';
import type { PostgresComponent, StackSpec } from './schema';

type Path = (string | number)[];

interface Login {
  readonly user: string;
  readonly access: 'owner' | 'read-only';
  /** Where the login comes from: an owner field, or the relation that reads read-only. */
  readonly path: Path;
}

export function checkPostgres(spec: StackSpec, name: string, c: PostgresComponent, add: (path: Path, message: string) => void): void {
  const base: Path = ['components', name];
  const seen = new Set<string>();
  c.databases.forEach((db, i) => {
    if (seen.has(db.name)) add([...base, 'databases', i, 'name'], `database "${db.name}" is listed twice`);
    seen.add(db.name);
  });
  const logins: Login[] = c.databases.map((d, i) => ({ user: d.owner, access: 'owner', path: [...base, 'databases', i, 'owner'] }));
  for (const [other, oc] of Object.entries(spec.components)) {
    const uses = 'uses' in oc ? (oc.uses ?? []) : [];
    uses.forEach((raw, j) => {
      const r = normalizeRelation(raw);
      const database = r.database ?? c.databases[0].name;
      // A database the server does not have is reported with the relation (validate.ts checkUses).
      if (r.to !== name || r.access !== 'read-only' || !c.databases.some((d) => d.name === database)) return;
      const user = readOnlyLogin(database);
      const path: Path = ['components', other, 'uses', j, 'access'];
      if (user.length > 63) add(path, `the read-only login of database "${database}" would be "${user}", longer than PostgreSQL's 63 characters: shorten the database name to at most 60`);
      else logins.push({ user, access: 'read-only', path });
    });
  }
  const bySecret = new Map<string, Login>();
  for (const l of logins) {
    const secret = secretNames.postgresLogin(name, l.user);
    const first = bySecret.get(secret);
    if (!first) bySecret.set(secret, l);
    else if (first.user !== l.user) {
      add(l.path, `login "${l.user}" and login "${first.user}" (${formatPath(first.path)}) would share the Secret ${secret}: Secret names are lower-case with "-" for "_", so two logins of one server may not differ only in case or in "_" versus "-"; rename one`);
    } else if (first.access !== l.access) {
      add(l.path, `the read-only login "${l.user}" also owns a database (${formatPath(first.path)}), so it would not be read-only: rename that owner`);
    }
  }
}
