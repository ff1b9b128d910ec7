// The editor's view of a cluster config: `node` completes to the declared node names and an
// undeclared one is a type error where it is written; a single-node config keeps accepting any name.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'test/fixtures/cluster/types');
const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
  types: [],
  baseUrl: root,
  paths: { 'phoenix-pve': ['src/dsl/index.ts'] },
};

// One service for every file: the library files are parsed once.
const files = new Set<string>();
const shared = (() => {
  let made: ts.LanguageService | undefined;
  return () => (made ??= create());
})();

function service(file: string): ts.LanguageService {
  files.add(file);
  return shared();
}

function create(): ts.LanguageService {
  return ts.createLanguageService(
    {
      getScriptFileNames: () => [...files],
      getScriptVersion: () => String(files.size),
      getScriptSnapshot: (name) =>
        fs.existsSync(name) ? ts.ScriptSnapshot.fromString(fs.readFileSync(name, 'utf8')) : undefined,
      getCurrentDirectory: () => root,
      getCompilationSettings: () => options,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: ts.sys.fileExists,
      readFile: ts.sys.readFile,
    },
    ts.createDocumentRegistry(),
  );
}

/** Each semantic error as the text it underlines and its message. */
function errors(file: string): Array<{ at: string; message: string }> {
  const text = fs.readFileSync(file, 'utf8');
  return service(file)
    .getSemanticDiagnostics(file)
    .map((d) => ({
      at: text.slice(d.start, (d.start ?? 0) + (d.length ?? 0)),
      message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
    }));
}

describe('node names in a cluster config', () => {
  const file = path.join(dir, 'phoenix.config.ts');
  const text = fs.readFileSync(file, 'utf8');
  const completions = (name: string) => {
    const at = text.indexOf(`/*@${name}*/`) + `/*@${name}*/ `.length + 1;
    return (service(file).getCompletionsAtPosition(file, at, {})?.entries ?? []).map((e) => e.name);
  };

  it('accepts guests and storages on declared nodes', () => {
    expect(errors(file)).toEqual([]);
  });

  it('completes the declared node names at a guest node and a storage nodes list', () => {
    for (const marker of ['node', 'vmNode', 'storageNodes']) {
      expect(completions(marker).sort()).toEqual(['pve1', 'pve2', 'pve3']);
    }
  });

  it('reports an undeclared node at the guest and in a storage nodes list', () => {
    const found = errors(path.join(dir, 'undeclared.config.ts'));
    expect(found).toEqual(
      expect.arrayContaining([
        { at: 'node', message: expect.stringContaining(`Type '"pve9"' is not assignable`) },
        { at: "'pve7'", message: expect.stringContaining(`Type '"pve7"' is not assignable`) },
      ]),
    );
    expect(found).toHaveLength(2);
  });

  it('accepts any node name when the config declares no nodes', () => {
    expect(errors(path.join(dir, 'single.config.ts'))).toEqual([]);
  });
});
