// Drives the TypeScript language service over a sample config, as an editor would: completions at
// `cloneFrom:`, in `dependsOn: [...]`, `features: ['...']`, `storage: '...'`, and a diagnostic
// for an undeclared guest.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'test/fixtures/langservice');

function languageService(file: string): ts.LanguageService {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    skipLibCheck: true,
    types: [],
    baseUrl: root,
    paths: { 'phoenix-pve': ['src/dsl/index.ts'] },
  };
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [file],
    getScriptVersion: () => '1',
    getScriptSnapshot: (name) =>
      fs.existsSync(name) ? ts.ScriptSnapshot.fromString(fs.readFileSync(name, 'utf8')) : undefined,
    getCurrentDirectory: () => root,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  return ts.createLanguageService(host, ts.createDocumentRegistry());
}

/** Position of the token after `/*@name*\/` (the formatter may put space between), plus `inside` to step into a string literal's quotes. */
function marker(text: string, name: string, inside = 0): number {
  const tag = `/*@${name}*/`;
  const at = text.indexOf(tag);
  if (at < 0) throw new Error(`marker ${name} not in fixture`);
  let pos = at + tag.length;
  while (text[pos] === ' ') pos++;
  return pos + inside;
}

describe('language service on a sample config', () => {
  const file = path.join(fixtures, 'phoenix.config.ts');
  const text = fs.readFileSync(file, 'utf8');
  let service: ts.LanguageService;
  beforeAll(() => {
    service = languageService(file);
  });

  const names = (position: number) =>
    (service.getCompletionsAtPosition(file, position, {})?.entries ?? []).map((e) => e.name);

  it('has no diagnostics', () => {
    const diags = [...service.getSyntacticDiagnostics(file), ...service.getSemanticDiagnostics(file)];
    expect(diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });

  it('completes declared guest ids at cloneFrom', () => {
    expect(names(marker(text, 'cloneFrom'))).toEqual(expect.arrayContaining(['900', '103', '9000', '1001']));
    expect(names(marker(text, 'vmCloneFrom'))).toEqual(expect.arrayContaining(['900', '9000']));
  });

  it('completes declared guest ids in dependsOn', () => {
    expect(names(marker(text, 'dependsOn'))).toEqual(expect.arrayContaining(['900', '103', '9000', '1001']));
    expect(names(marker(text, 'vmDependsOn'))).toEqual(expect.arrayContaining(['103', '900']));
  });

  it('completes declared feature names', () => {
    const offered = names(marker(text, 'features', 1));
    expect(offered).toEqual(expect.arrayContaining(['base_setup', 'step_ca', 'docker']));
    expect(offered).not.toContain('vmbr0');
    expect(names(marker(text, 'vmFeatures', 1))).toEqual(
      expect.arrayContaining(['base_setup', 'step_ca', 'docker']),
    );
  });

  it('completes declared storage ids', () => {
    const expected = ['quickOS-lxc-disks', 'quickOS-vm-disks', 'local'];
    expect(names(marker(text, 'storage', 1))).toEqual(expect.arrayContaining(expected));
    expect(names(marker(text, 'vmStorage', 1))).toEqual(expect.arrayContaining(expected));
  });
});

describe('language service on a config with undeclared references', () => {
  const file = path.join(fixtures, 'undeclared.config.ts');
  const text = fs.readFileSync(file, 'utf8');

  it('reports cloneFrom 905, dependsOn 906, feature, storage and a prefix-less IP at their positions', () => {
    const service = languageService(file);
    const found = service.getSemanticDiagnostics(file).map((d) => ({
      at: text.slice(d.start, (d.start ?? 0) + (d.length ?? 0)),
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    }));
    expect(found).toEqual(
      expect.arrayContaining([
        { at: 'cloneFrom', message: expect.stringContaining("Type '905' is not assignable") },
        { at: '906', message: expect.stringContaining("Type '906' is not assignable") },
        { at: "'dockr'", message: expect.stringContaining('"base_setup"') },
        { at: 'storage', message: expect.stringContaining('"nfs-1"') },
        { at: 'ip', message: expect.stringContaining('"10.0.0.5"') },
      ]),
    );
    expect(found).toHaveLength(5);
  });
});

describe('tsc --noEmit', () => {
  function typecheck(file: string): string[] {
    const program = ts.createProgram([file], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      baseUrl: root,
      paths: { 'phoenix-pve': ['src/dsl/index.ts'] },
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const where = pos
        ? `${path.relative(root, d.file!.fileName)}(${pos.line + 1},${pos.character + 1})`
        : '';
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
  }

  it('rejects cloneFrom: 905 when 905 is not declared', () => {
    expect(typecheck(path.join(root, 'test/fixtures/dsl/undeclared/phoenix.config.ts'))).toEqual([
      "test/fixtures/dsl/undeclared/phoenix.config.ts(20,7): Type '905' is not assignable to type '900 | 103 | undefined'.",
    ]);
  });

  it('accepts the valid fixtures', () => {
    expect(typecheck(path.join(root, 'test/fixtures/dsl/basic/phoenix.config.ts'))).toEqual([]);
  });
});
