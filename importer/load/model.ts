/** The neutral model the loader produces and the translator reads: compose, merged and checked. */
import type { ProjectFolder } from './project-folder';

/** A compose key the importer did not translate, or translated with a loss; one line of output each. */
export interface ImportWarning {
  /** The compose service (or "(project)" for top-level keys). */
  readonly service: string;
  /** The key, e.g. "cap_add" or "labels.traefik.http.routers.api.middlewares". */
  readonly key: string;
  readonly why: string;
}

export interface EnvFile {
  /** As written in the compose file. */
  readonly written: string;
  readonly path: string;
  readonly vars: Readonly<Record<string, string>>;
}

export interface ComposeService {
  readonly name: string;
  /** The file that defined it last, for messages. */
  readonly file: string;
  /** Canonical, merged, interpolated mapping (see normalize.ts); secret variables are markers. */
  readonly config: Record<string, any>;
  /** Its env files, read. */
  readonly envFiles: readonly EnvFile[];
  /** Only in a development profile that was not asked for: run in local environments only. */
  readonly localOnly: boolean;
  /** A top-level `jobs:` entry rather than a service. */
  readonly job: boolean;
}

export interface ComposeProject {
  /** The project name (compose `name:`, COMPOSE_PROJECT_NAME, or the folder), as a DNS label. */
  readonly name: string;
  /** The project folder: --project-directory or the first file's folder; relative paths start here. */
  readonly dir: string;
  /** The only way translation reads files: inside the project folder, symlinks followed and checked. */
  readonly folder: ProjectFolder;
  readonly files: readonly string[];
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes: Readonly<Record<string, any>>;
  readonly secrets: Readonly<Record<string, any>>;
  readonly configs: Readonly<Record<string, any>>;
  readonly networks: Readonly<Record<string, any>>;
  /** Values of secret-looking variables and secret files seen while loading, with where they came from: none may reach the spec. */
  readonly secretValues: ReadonlyMap<string, string>;
  /** What loading already has to say (unset variables, services left out by profile). */
  readonly warnings: readonly ImportWarning[];
  /** "line:column" of a key path in a file, when known. */
  locate(file: string, path: readonly (string | number)[]): string | undefined;
}
