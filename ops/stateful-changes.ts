/**
 * What scripts/apply.ts checks against the running stack before it changes anything: the two
 * StatefulSet changes a plain apply gets wrong.
 *
 * - A PostgreSQL major version change. The new server cannot open the old data directory ("database
 *   files are incompatible with server"), so the rollout would take the database down and keep it
 *   down. Refused, with the way through (dump and restore), before anything is applied.
 * - A larger `storage`. volumeClaimTemplates cannot change in place (the apply fails with
 *   "Forbidden: updates to statefulset spec"), and would not resize existing claims anyway. Carried
 *   out as an operator does it: each claim is expanded (when its StorageClass allows expansion), the
 *   StatefulSet is deleted with its pods left running (--cascade=orphan), and the apply recreates it
 *   with the new template, adopting the same pods and claims. A smaller size is refused: a claim
 *   never shrinks.
 */

type Obj = Record<string, any>;

/** The major version of a PostgreSQL image from its tag (postgres:16.4, postgis/postgis:16-3.4, timescaledb:2.14.2-pg16, pgvector:pg16); undefined when the tag does not say. */
export function postgresMajor(image: string): number | undefined {
  const ref = image.split('@')[0];
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon <= slash) return undefined; // no tag (or only a digest): latest, unknown
  const tag = ref.slice(colon + 1);
  const pg = /(?:^|[-_.])pg(\d{1,2})(?=$|[-_.])/.exec(tag) ?? /^(\d{1,2})(?=$|[-_.])/.exec(tag);
  if (!pg) return undefined;
  const major = Number(pg[1]);
  return major >= 9 ? major : undefined; // 2.14.2-… of another product is not PostgreSQL 2
}

/** The PostgreSQL server container of a StatefulSet: the one the official image's PGDATA contract configures. */
function postgresContainer(sts: Obj): Obj | undefined {
  return (sts.spec?.template?.spec?.containers ?? []).find((c: Obj) => (c.env ?? []).some((e: Obj) => e.name === 'PGDATA'));
}

const UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };

/** Bytes of a storage quantity (2Gi, 512Mi, 1G); undefined when it is not one. */
export function bytes(quantity: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kMGTP]i?|Ki)?$/.exec(String(quantity).trim());
  if (!m) return undefined;
  const unit = UNITS[m[2] ?? ''];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

export interface Expansion {
  namespace: string;
  statefulSet: string;
  /** PersistentVolumeClaims to patch to `size`. */
  claims: string[];
  template: string;
  from: string;
  size: string;
}

export interface StatefulPlan {
  /** Changes refused, one message each (the apply stops before changing anything). */
  refusals: string[];
  /** Storage increases to carry out before the apply. */
  expansions: Expansion[];
}

/** What the cluster holds, as kubectl would answer (undefined: not found). */
export interface Live {
  statefulSet(namespace: string, name: string): Obj | undefined;
  /** The claims of a StatefulSet's volume template `template` (named <template>-<sts>-<ordinal>). */
  claims(namespace: string, statefulSet: string, template: string): Obj[];
  storageClass(name: string): Obj | undefined;
}

/** Compares each StatefulSet about to be applied with the running one. */
export function planStatefulChanges(desired: Obj[], live: Live): StatefulPlan {
  const plan: StatefulPlan = { refusals: [], expansions: [] };
  for (const want of desired.filter((o) => o.kind === 'StatefulSet')) {
    const ns: string = want.metadata.namespace;
    const name: string = want.metadata.name;
    const have = live.statefulSet(ns, name);
    if (!have) continue;
    const where = `StatefulSet ${ns}/${name}`;

    const [newPg, oldPg] = [postgresContainer(want), postgresContainer(have)];
    const [newMajor, oldMajor] = [newPg && postgresMajor(newPg.image), oldPg && postgresMajor(oldPg.image)];
    if (newMajor !== undefined && oldMajor !== undefined && newMajor !== oldMajor) {
      plan.refusals.push(
        `${where}: its data directory was made by PostgreSQL ${oldMajor} (${oldPg!.image}) and the spec now runs ${newPg!.image} (PostgreSQL ${newMajor}). ` +
          `A server of another major version cannot open it, so the database would stay down. Keep the image at PostgreSQL ${oldMajor} ` +
          `(components.${name}.image), or move the data: dump it (pg_dumpall, or where backup is enabled: kubectl -n ${ns} create job --from=cronjob/${name}-backup ${name}-pre-upgrade), ` +
          `delete the StatefulSet and its claims (kubectl -n ${ns} delete statefulset/${name} pvc -l app.kubernetes.io/name=${name}), apply, then pg_restore the dump into the new server.`,
      );
    }

    for (const vct of want.spec?.volumeClaimTemplates ?? []) {
      const template: string = vct.metadata.name;
      const size: string | undefined = vct.spec?.resources?.requests?.storage;
      const old = (have.spec?.volumeClaimTemplates ?? []).find((v: Obj) => v.metadata?.name === template);
      const from: string | undefined = old?.spec?.resources?.requests?.storage;
      if (!size || !from) continue;
      const [to, was] = [bytes(size), bytes(from)];
      if (to === undefined || was === undefined || to === was) continue;
      if (to < was) {
        plan.refusals.push(`${where}: volume ${template} would shrink from ${from} to ${size}; a claim never shrinks. Keep ${from} or more.`);
        continue;
      }
      const claims = live.claims(ns, name, template);
      const blocked = claims.filter((c) => !live.storageClass(c.spec?.storageClassName ?? '')?.allowVolumeExpansion);
      if (blocked.length > 0) {
        const classes = [...new Set(blocked.map((c) => c.spec?.storageClassName ?? '(none)'))].join(', ');
        plan.refusals.push(
          `${where}: volume ${template} would grow from ${from} to ${size}, but the StorageClass of ${blocked.map((c) => c.metadata.name).join(', ')} (${classes}) does not allow volume expansion ` +
            `(allowVolumeExpansion). Keep ${from}, or move the data to a class that allows it.`,
        );
        continue;
      }
      plan.expansions.push({ namespace: ns, statefulSet: name, claims: claims.map((c) => c.metadata.name), template, from, size });
    }
  }
  return plan;
}
