/**
 * Recording stand-ins for the tools the laptop commands run (docker, kind, k3d, helm, kubectl): small
 * shell scripts first (and alone) on PATH that append each call to a log (the tool and its arguments
 * on one line, followed by the content of any file passed with --config) and answer from canned
 * replies matched against their arguments with shell patterns.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Reply {
  /** A `case` pattern matched against all arguments joined by spaces, e.g. `'get clusters'` or `'*get crd*'`. */
  readonly match: string;
  /** Bytes are written as they are (binary output, e.g. a database dump). */
  readonly stdout?: string | Uint8Array;
  readonly stderr?: string;
  readonly exit?: number;
  /** Shell run after the canned output ($STATE is a folder the stand-ins share), e.g. to remember a created cluster. */
  readonly sh?: string;
}

export interface StandIns {
  readonly dir: string;
  /** Each call: `tool arg arg...`, then the lines of a --config file prefixed with "| ". */
  calls(): string[];
  /** Only the lines of calls, without config contents. */
  commands(): string[];
  /** The contents of the files passed with --config, in call order. */
  configs(): string[];
  restore(): void;
}

/** Installs stand-ins for `tools` (a tool given no replies exits 0 silently) and puts them alone on PATH. */
export function standIns(tools: Record<string, readonly Reply[]>): StandIns {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-standins-'));
  const bin = join(dir, 'bin');
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  const state = join(dir, 'state');
  mkdirSync(state);
  mkdirSync(bin);
  for (const [tool, replies] of Object.entries(tools)) {
    const cases = replies.map((r, i) => {
      const out = join(dir, `${tool}-${i}.out`);
      const err = join(dir, `${tool}-${i}.err`);
      writeFileSync(out, r.stdout ?? '');
      writeFileSync(err, r.stderr ?? '');
      return `  ${r.match.replace(/ /g, '\\ ')}) cat '${out}'; cat '${err}' >&2; ${r.sh ?? ''}\n    exit ${r.exit ?? 0} ;;`;
    });
    writeFileSync(
      join(bin, tool),
      [
        '#!/bin/sh',
        'PATH=/usr/bin:/bin',
        `STATE='${state}'`,
        `printf '%s\\n' "${tool} $*" >> '${log}'`,
        'prev=""',
        `for a in "$@"; do if [ "$prev" = "--config" ]; then sed 's/^/| /' "$a" >> '${log}'; fi; prev="$a"; done`,
        'case "$*" in',
        ...cases,
        'esac',
        'exit 0',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
  }
  const savedPath = process.env.PATH;
  process.env.PATH = bin;
  const calls = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return {
    dir,
    calls,
    commands: () => calls().filter((l) => !l.startsWith('| ')),
    configs: () => {
      const files: string[][] = [];
      let previous = '';
      for (const line of calls()) {
        if (!line.startsWith('| ')) {
          previous = line;
          continue;
        }
        if (!previous.startsWith('| ')) files.push([]);
        files[files.length - 1].push(line.slice(2));
        previous = line;
      }
      return files.map((f) => `${f.join('\n')}\n`);
    },
    restore: () => {
      process.env.PATH = savedPath;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
