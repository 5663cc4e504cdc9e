/**
 * What must already hold for every case of the public corpus: its expectations and source note
 * validate, every file they name is there, and nothing is vendored without a source. Every case compose
 * accepts imports and synthesizes kind and k3d, and the expectations met so far stay met (floors below);
 * the rest is measured by scripts/corpus-report.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { reportCase } from '../../scripts/corpus-report';
import { caseFiles, caseNames, CorpusError, loadCase, parseExpectations, parseSourceNote, referencedFiles } from './public-corpus';

const names = caseNames();

describe('public compose corpus', () => {
  it('holds at least 25 cases', () => {
    expect(names.length).toBeGreaterThanOrEqual(25);
  });

  describe.each(names)('%s', (name) => {
    it('has an expectations file and a source note that validate', () => {
      expect(() => loadCase(name)).not.toThrow();
    });

    it('names every file it references, and each exists', () => {
      const c = loadCase(name);
      const missing = referencedFiles(c).filter((f) => !existsSync(join(c.dir, f)));
      expect(missing).toEqual([]);
    });

    it('vendors nothing without a source or a stand-in note', () => {
      const c = loadCase(name);
      const noted = new Set([...Object.keys(c.source.files), ...Object.keys(c.source.standIns ?? {})]);
      expect(caseFiles(c).filter((f) => !noted.has(f))).toEqual([]);
    });

    it('lists every compose file of the case among its vendored files or stand-ins', () => {
      const c = loadCase(name);
      const noted = new Set([...Object.keys(c.source.files), ...Object.keys(c.source.standIns ?? {})]);
      expect(c.expected.compose.files.filter((f) => !noted.has(f))).toEqual([]);
    });

    it('has expectations for every service its compose files declare', () => {
      const c = loadCase(name);
      // A light read of the top-level service names, enough to catch a forgotten service.
      const declared = new Set<string>();
      for (const f of c.expected.compose.files) {
        const doc = parse(readFileSync(join(c.dir, f), 'utf8'), { merge: true }) as { services?: Record<string, unknown> } | null;
        for (const s of Object.keys(doc?.services ?? {})) declared.add(s);
      }
      expect([...declared].filter((s) => !(s in c.expected.services)).sort()).toEqual([]);
      expect(Object.keys(c.expected.services).filter((s) => !declared.has(s)).sort()).toEqual([]);
    });
  });
});

/** Expectations met as of the importer's real-world fixes; raise them as more are met, never lower them. */
const FLOORS = { classification: 113, connections: 103, logins: 42, routes: 16 };

describe('importing the public corpus', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'stackport-corpus-test-'));
  const rows: Awaited<ReturnType<typeof reportCase>>[] = [];
  for (const n of names) rows.push(await reportCase(n, tmp));

  it.each(names)('%s imports as published and synthesizes kind and k3d', (name) => {
    const r = rows.find((x) => x.name === name)!;
    if (!r.accepted) return;
    expect(r.error).toBeUndefined();
    expect([r.imported, r.kind, r.k3d]).toEqual([true, 'ok', 'ok']);
  });

  it('keeps meeting at least the expectations it met', () => {
    const met = (k: keyof typeof FLOORS) => rows.reduce((n, r) => n + r[k][0], 0);
    for (const k of Object.keys(FLOORS) as (keyof typeof FLOORS)[]) expect(met(k), k).toBeGreaterThanOrEqual(FLOORS[k]);
  });
});

describe('corpus formats reject bad input with the file and field named', () => {
  it('an expectations file with an unknown kind', () => {
    const text = 'compose: { files: [compose.yaml], accepted: true }\nservices:\n  api: { becomes: website, port: 80 }\n';
    expect(() => parseExpectations(text, 'x/expected.yaml')).toThrow(/x\/expected.yaml: services.api.becomes/);
  });

  it('a web service without its port, a dropped one without a reason', () => {
    const text = 'compose: { files: [compose.yaml], accepted: true }\nservices:\n  api: { becomes: web }\n  old: { becomes: dropped }\n';
    expect(() => parseExpectations(text, 'e.yaml')).toThrow(/services.api.port[\s\S]*services.old.reason/);
  });

  it('a connection to a service the case does not have', () => {
    const text = 'compose: { files: [compose.yaml], accepted: true }\nservices:\n  api: { becomes: web, port: 80, connects: [{ to: "db:5432", via: [env] }] }\n';
    expect(() => parseExpectations(text, 'e.yaml')).toThrow(/db is not a service of this case/);
  });

  it('a file compose rejects without the reason', () => {
    const text = 'compose: { files: [compose.yaml], accepted: false }\nservices:\n  api: { becomes: worker }\n';
    expect(() => parseExpectations(text, 'e.yaml')).toThrow(/compose.rejectedBecause/);
  });

  it('a source note with a short commit or no front matter', () => {
    const note = '---\nrepository: a/b\ncommit: abc123\nlicence: MIT\nlicenceFile: LICENSE\nfiles: {}\nrun: docker compose up\n---\n';
    expect(() => parseSourceNote(note, 'SOURCE.md')).toThrow(/SOURCE.md: commit: must be a full 40-hex commit/);
    expect(() => parseSourceNote('# just text\n', 'SOURCE.md')).toThrow(CorpusError);
  });

  it('a case folder without expectations', () => {
    const root = mkdtempSync(join(tmpdir(), 'corpus-'));
    mkdirSync(join(root, 'empty'));
    writeFileSync(join(root, 'empty', 'SOURCE.md'), '---\n---\n');
    expect(() => loadCase('empty', root)).toThrow(/expected.yaml: missing/);
  });
});
