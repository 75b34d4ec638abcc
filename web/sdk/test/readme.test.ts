import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Issue "Operate it for real": the README's ES-module snippet type-checks, as written, against this package's API
// (the html snippet runs in Chromium: tests/Uid2.E2E.Tests/SdkReadmeSnippetTests.cs).
describe('README', () => {
  it('ES module snippet type-checks against the SDK', () => {
    const readme = readFileSync(resolve(process.cwd(), 'README.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const code = block![1];
    expect(code).toContain("from '@uid2-dotnet/uid2-sdk'");
    const dir = mkdtempSync(join(tmpdir(), 'uid2-readme-'));
    try {
      const file = join(dir, 'snippet.ts');
      // The package name resolves to its source, as it would to dist/types once published.
      writeFileSync(file, code.replace("'@uid2-dotnet/uid2-sdk'", `'${resolve(process.cwd(), 'src/index.ts').replace(/\.ts$/, '')}'`) + '\nexport {};\n');
      const program = ts.createProgram([file, resolve(process.cwd(), 'src/version.ts')], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
        skipLibCheck: true,
        types: [],
      });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(diagnostics).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
