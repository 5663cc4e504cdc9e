/**
 * Compose files -> ComposeProject, following the Compose specification's loading order: per file,
 * parse (anchors, merge keys), interpolate, validate against the official schema, normalize,
 * resolve `extends`; then merge the files in order (later override earlier), apply profiles and
 * check references. Any problem throws a ComposeError naming the file, the key path and the line.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { DotenvError, parseDotenv } from './dotenv';
import { ComposeError, fail } from './errors';
import { interpolateTree, isSecretName, secretMark } from './interpolate';
import type { ComposeProject, ComposeService, EnvFile, ImportWarning } from './model';
import { mergeService, normalizeService } from './normalize';
import { checkComposeSchema } from './schema';
import { outsideProject, ProjectFolder } from './project-folder';
import { isOverride, OVERRIDE, parseYamlFile, RESET, withoutResets, type YamlFile } from './yaml';
import { readYamlText, YamlInputError } from '../../model/read-yaml';

export interface LoadOptions {
  /** Compose files, in order. */
  readonly files: readonly string[];
  /** --project-directory: the project folder. @default the folder of the first file */
  readonly projectDirectory?: string;
  /** --env-file: replaces the project's .env. */
  readonly envFiles?: readonly string[];
  /** --profile, added to COMPOSE_PROFILES. */
  readonly profiles?: readonly string[];
  /** Variables that win over .env (the process environment for the CLI). @default {} */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

type Obj = Record<string, any>;
/** Profiles that mean "while developing": such services run in the local environments only. */
export const DEV_PROFILES = new Set(['dev', 'development', 'local', 'debug', 'tools']);

interface LoadedFile {
  readonly yaml: YamlFile;
  readonly data: Obj;
}

export function loadCompose(opts: LoadOptions): ComposeProject {
  if (opts.files.length === 0) fail('(command line)', [], 'give at least one compose file');
  const dir = resolve(opts.projectDirectory ?? dirname(resolve(opts.files[0])));
  if (opts.projectDirectory !== undefined && !isDirectory(dir)) fail(opts.projectDirectory, [], '--project-directory must name an existing folder');
  const folder = new ProjectFolder(dir);
  const warnings: ImportWarning[] = [];
  const env = loadEnvironment(opts, folder, warnings);
  const docs = new Map<string, LoadedFile>();
  const project: Obj = { services: {}, jobs: {}, volumes: {}, secrets: {}, configs: {}, networks: {} };
  const origin = new Map<string, string>();

  const unset = (file: string) => (p: (string | number)[], n: string) => {
    warnings.push({ service: p[0] === 'services' || p[0] === 'jobs' ? String(p[1]) : '(project)', key: keyOf(p), why: `variable ${n} is not set; used an empty string, as compose does (${basename(file)})` });
  };

  const load = (file: string, baseDir: string): LoadedFile => {
    const key = resolve(file);
    const cached = docs.get(key);
    if (cached) return cached;
    let text: string;
    try {
      text = readYamlText(file);
    } catch (e) {
      if (e instanceof YamlInputError) fail(file, [], e.message);
      fail(file, [], (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read the file: ${(e as Error).message}`);
    }
    const yaml = parseYamlFile(text, file);
    const data: Obj = {};
    for (const [k, v] of Object.entries(yaml.data)) data[k] = interpolateTree(v, (n) => env.get(n), (p, m) => fail(file, p, m, yaml.locate(p)), unset(file), [k]);
    const problem = checkComposeSchema(withoutResets(data));
    if (problem) fail(file, problem.path, problem.message, yaml.locate(problem.path, problem.atKey));
    const bad = (p: (string | number)[], m: string): never => fail(file, p, m, yaml.locate(p));
    for (const section of ['services', 'jobs'] as const) {
      for (const [name, svc] of Object.entries((data[section] as Obj) ?? {})) {
        const resets = Object.entries((svc as Obj) ?? {}).filter(([, v]) => v === RESET).map(([k]) => k);
        const overrides = Object.entries((svc as Obj) ?? {}).filter(([, v]) => isOverride(v)).map(([k]) => k);
        const normal = normalizeService((withoutResets(svc) as Obj) ?? {}, baseDir, [section, name], bad);
        for (const k of resets) normal[k] = RESET;
        if (overrides.length) normal[OVERRIDE] = overrides;
        data[section][name] = normal;
      }
    }
    const loaded = { yaml, data };
    docs.set(key, loaded);
    for (const section of ['services', 'jobs'] as const) {
      for (const name of Object.keys((data[section] as Obj) ?? {})) data[section][name] = resolveExtends(file, section, name, [], loaded, load, folder);
    }
    return loaded;
  };

  const fromInclude = new Set<string>();
  const absorb = (file: string, data: Obj, included: boolean): void => {
    // Included projects load first; their services are theirs alone.
    const entries = Object.entries(data).sort(([a], [b]) => Number(b === 'include') - Number(a === 'include'));
    for (const [k, v] of entries) {
      if (k === 'services' || k === 'jobs') {
        for (const [name, svc] of Object.entries((v as Obj) ?? {})) {
          const key = `${k}/${name}`;
          if (project[k][name] && (included || fromInclude.has(key))) {
            fail(file, [k, name], `"${name}" is also defined by ${relative(dir, origin.get(key)!)}; a service of an included file cannot be redefined`, docs.get(resolve(file))?.yaml.locate([k, name]));
          }
          if (included) fromInclude.add(key);
          project[k][name] = project[k][name] ? mergeService(project[k][name], svc as Obj) : svc;
          origin.set(key, file);
        }
      } else if (['volumes', 'secrets', 'configs', 'networks'].includes(k)) {
        for (const [name, def] of Object.entries((v as Obj) ?? {})) {
          project[k][name] = { ...(project[k][name] ?? {}), ...((def as Obj) ?? {}) };
        }
      } else if (k === 'include') {
        (v as unknown[]).forEach((entry, i) => {
          const e: Obj = typeof entry === 'string' ? { path: entry } : (entry as Obj);
          if (e.env_file || e.project_directory) warnings.push({ service: '(project)', key: `include[${i}]`, why: 'env_file and project_directory of an include are not read; the project\'s own variables apply' });
          for (const p of [e.path].flat()) {
            const sub = resolve(dirname(file), String(p));
            const access = folder.check(sub);
            if (!access.ok && access.why === 'outside') {
              fail(file, ['include', i], outsideModel(String(p), 'included file'), docs.get(resolve(file))?.yaml.locate(['include', i]));
            }
            if (!existsSync(sub)) fail(file, ['include', i], `included file "${p}" not found`, docs.get(resolve(file))?.yaml.locate(['include', i]));
            absorb(sub, load(sub, dirname(sub)).data, true);
          }
        });
      } else if (k === 'name') {
        if (!included) project.name = v;
      } else if (k !== 'version' && !k.startsWith('x-')) warnings.push({ service: '(project)', key: k, why: `top-level "${k}" is not translated (${basename(file)})` });
      else if (k === 'version') warnings.push({ service: '(project)', key: 'version', why: 'obsolete and ignored, as compose does' });
    }
  };
  for (const file of opts.files) absorb(file, load(file, dir).data, false);
  if (Object.keys(project.services).length + Object.keys(project.jobs).length === 0) fail(opts.files[0], ['services'], 'no services defined');

  const active = new Set([...(opts.profiles ?? []), ...(env.get('COMPOSE_PROFILES') ?? '').split(',').map((s) => s.trim()).filter(Boolean)]);
  for (const section of ['services', 'jobs'] as const) {
    for (const svc of Object.values(project[section] as Obj)) {
      for (const [k, v] of Object.entries(svc as Obj)) if (v === RESET || k === OVERRIDE) delete (svc as Obj)[k];
    }
  }
  const services: Record<string, ComposeService> = {};
  for (const section of ['services', 'jobs'] as const) {
    for (const [name, config] of Object.entries(project[section] as Obj)) {
      const file = origin.get(`${section}/${name}`)!;
      const profiles: string[] = config.profiles ?? [];
      const on = profiles.length === 0 || profiles.includes('*') || profiles.some((p) => active.has(p) && !DEV_PROFILES.has(p));
      // Development tools run where development happens: kind and k3d, whether or not --profile names them.
      const dev = !on && profiles.some((p) => DEV_PROFILES.has(p));
      if (!on && !dev) {
        warnings.push({ service: name, key: 'profiles', why: `left out: profile ${profiles.join(', ')} is not active (add --profile ${profiles[0]} to include it)` });
        continue;
      }
      if (services[name]) fail(file, [section, name], `"${name}" is both a service and a job`);
      // `- NAME` without a value takes it from the environment; a secret's stays a marker.
      for (const [k, v] of Object.entries<string | null>(config.environment ?? {})) {
        if (v === null) config.environment[k] = isSecretName(k) ? secretMark(k) : env.get(k) ?? null;
      }
      services[name] = { name, file, config, envFiles: readEnvFiles(file, name, config, env, docs, folder, warnings), localOnly: dev, job: section === 'jobs' };
    }
  }
  checkReferences(project, services, (file, p) => docs.get(resolve(file))?.yaml.locate(p));
  const secretValues = new Map<string, string>();
  const remember = (name: string, value: unknown, where: string) => {
    if (typeof value === 'string' && value.length >= 4 && isSecretName(name) && !value.includes('\u0001')) secretValues.set(value, `${name} (${where})`);
  };
  for (const [k, v] of env) remember(k, v, 'environment or .env');
  for (const s of Object.values(services)) {
    for (const [k, v] of Object.entries(s.config.environment ?? {})) remember(k, v, `environment of ${s.name}`);
    for (const f of s.envFiles) for (const [k, v] of Object.entries(f.vars)) remember(k, v, f.written);
  }
  for (const [name, def] of Object.entries<Obj>(project.secrets)) {
    const text = def.file ? folder.readText(resolve(dir, def.file)) : undefined;
    if (text !== undefined) remember('SECRET', text.trim(), `secret ${name}`);
  }
  // A "secret" that compose also uses in the open (POSTGRES_PASSWORD: postgres beside POSTGRES_USER: postgres) guards nothing.
  const open = JSON.stringify(
    Object.values(services).map((s) => ({
      ...s.config,
      environment: Object.fromEntries(Object.entries(s.config.environment ?? {}).filter(([k]) => !isSecretName(k))),
      envFiles: s.envFiles.map((f) => Object.fromEntries(Object.entries(f.vars).filter(([k]) => !isSecretName(k)))),
    })),
  );
  for (const value of [...secretValues.keys()]) if (open.includes(JSON.stringify(value).slice(1, -1))) secretValues.delete(value);

  return {
    name: projectName(project.name ?? env.get('COMPOSE_PROJECT_NAME') ?? basename(dir)),
    dir,
    folder,
    files: opts.files,
    services,
    volumes: project.volumes,
    secrets: project.secrets,
    configs: project.configs,
    networks: project.networks,
    warnings,
    secretValues,
    locate: (file, p) => docs.get(resolve(file))?.yaml.locate(p),
  };
}

function keyOf(p: (string | number)[]): string {
  const rest = p[0] === 'services' || p[0] === 'jobs' ? p.slice(2) : p;
  return rest.map((x) => (typeof x === 'number' ? `[${x}]` : x)).join('.').replace(/\.\[/g, '[');
}

/** Project names become DNS labels: lower case, "-" for anything else, starting with a letter. */
export function projectName(name: string): string {
  const label = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return label || 'stack';
}

function loadEnvironment(opts: LoadOptions, folder: ProjectFolder, warnings: ImportWarning[]): Map<string, string> {
  const vars = new Map<string, string>();
  const dotenv = resolve(folder.dir, '.env');
  const access = folder.check(dotenv);
  if (!opts.envFiles?.length && !access.ok && access.why === 'outside') {
    warnings.push({ service: '(project)', key: '.env', why: outsideProject('.env (a link)', 'Its variables are not used for interpolation: give the file with --env-file if you mean it.') });
  }
  // Compose reads `.env` only when it is a file; a folder of that name is skipped.
  const files = opts.envFiles?.length ? opts.envFiles : access.ok && folder.kind(dotenv) === 'file' ? [access.real] : [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      fail(f, [], opts.envFiles?.includes(f) ? 'env file given with --env-file not found' : 'cannot read the file');
    }
    try {
      const parsed = parseDotenv(text, { lookup: (n) => opts.environment?.[n] ?? vars.get(n) });
      for (const [k, v] of Object.entries(parsed)) vars.set(k, v);
    } catch (e) {
      if (e instanceof DotenvError) fail(f, [], e.message, `${e.line}:1`);
      throw e;
    }
  }
  for (const [k, v] of Object.entries(opts.environment ?? {})) if (v !== undefined) vars.set(k, v);
  return vars;
}

function resolveExtends(file: string, section: string, name: string, trail: string[], loaded: LoadedFile, load: (f: string, dir: string) => LoadedFile, folder: ProjectFolder): Obj {
  const svc: Obj = loaded.data[section][name];
  if (!svc.extends) return svc;
  const { service, file: other } = svc.extends as { service: string; file?: string };
  const here = `${file}#${name}`;
  if (trail.includes(here)) fail(file, [section, name, 'extends'], `extends forms a cycle: ${[...trail, here].map((t) => t.split('#')[1]).join(' -> ')}`, loaded.yaml.locate([section, name, 'extends']));
  const baseFile = other ? resolve(dirname(file), other) : file;
  const access = folder.check(baseFile);
  if (other && !access.ok && access.why === 'outside') fail(file, [section, name, 'extends', 'file'], outsideModel(other, 'file'), loaded.yaml.locate([section, name, 'extends', 'file']));
  let base: LoadedFile;
  try {
    base = other ? load(baseFile, dirname(baseFile)) : loaded;
  } catch (e) {
    if (e instanceof ComposeError && e.issues[0]?.message === 'file not found') fail(file, [section, name, 'extends', 'file'], `file "${other}" not found`, loaded.yaml.locate([section, name, 'extends', 'file']));
    throw e;
  }
  if (!base.data[section]?.[service]) {
    const have = Object.keys(base.data[section] ?? {}).join(', ');
    fail(file, [section, name, 'extends', 'service'], `refers to "${service}", which is not a service${other ? ` of ${other}` : ''} (have: ${have})`, loaded.yaml.locate([section, name, 'extends']));
  }
  const resolvedBase = resolveExtends(other ? baseFile : file, section, service, [...trail, here], base, load, folder);
  const { extends: _drop, ...own } = svc;
  const merged = mergeService(resolvedBase, own);
  loaded.data[section][name] = merged;
  return merged;
}

function readEnvFiles(file: string, name: string, config: Obj, env: Map<string, string>, docs: Map<string, LoadedFile>, folder: ProjectFolder, warnings: ImportWarning[]): EnvFile[] {
  const out: EnvFile[] = [];
  (config.env_file ?? []).forEach((e: { path: string; written: string; required: boolean }, i: number) => {
    const path: (string | number)[] = ['services', name, 'env_file', i];
    const at = docs.get(resolve(file))?.yaml.locate(path);
    const access = folder.check(e.path);
    if (!access.ok && access.why === 'outside') {
      // Compose would load it into the container; here its values would be copied into a ConfigMap.
      warnings.push({ service: name, key: `env_file[${i}]`, why: outsideProject(e.written, 'Copy it into the project folder, or create the ConfigMap (and a Secret for its secrets) yourself and add them to envFrom and secretEnv in stack.yaml.') });
      return;
    }
    if (!access.ok) {
      if (!e.required) return;
      fail(file, path, `env file "${e.written}" not found`, at);
    }
    const text = folder.readText(access.real, 1024 * 1024);
    if (text === undefined) fail(file, path, `env file "${e.written}" is not a text file of at most 1 MiB`, at);
    try {
      out.push({ written: e.written, path: e.path, vars: parseDotenv(text, { lookup: (n) => env.get(n) }) });
    } catch (err) {
      if (err instanceof DotenvError) fail(file, path, `env file "${e.written}": ${err.message}`, at);
      throw err;
    }
  });
  return out;
}

function checkReferences(project: Obj, services: Record<string, ComposeService>, locate: (file: string, p: (string | number)[]) => string | undefined) {
  for (const s of Object.values(services)) {
    const base = [s.job ? 'jobs' : 'services', s.name];
    const bad = (p: (string | number)[], m: string): never => fail(s.file, [...base, ...p], m, locate(s.file, [...base, ...p]));
    for (const dep of Object.keys(s.config.depends_on ?? {})) {
      if (!(dep in project.services) && !(dep in project.jobs)) bad(['depends_on', dep], `refers to "${dep}", which is not a service (have: ${Object.keys(project.services).join(', ')})`);
    }
    (s.config.volumes ?? []).forEach((m: { type: string; source?: string }, i: number) => {
      if (m.type === 'volume' && m.source && !(m.source in project.volumes)) bad(['volumes', i], `refers to volume "${m.source}", which is not declared under the top-level volumes`);
    });
    for (const k of ['secrets', 'configs'] as const) {
      (s.config[k] ?? []).forEach((x: { source: string }, i: number) => {
        if (!(x.source in project[k])) bad([k, i], `refers to ${k.slice(0, -1)} "${x.source}", which is not declared under the top-level ${k}`);
      });
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Compose files outside the project are refused outright: leaving them out would change the services. */
function outsideModel(written: string, what: string): string {
  return `${what} "${written}" is outside the project folder; the importer reads only files inside the folder of the first compose file, or --project-directory. Copy it into the project folder, or import with --project-directory set to a folder that holds both (relative paths in the compose files then start there, as with docker compose)`;
}
