// What a user gets from npm: pack the package as a release would (a `prebuildify --napi
// --strip` prebuild for this platform, then scripts/release-pack, the release workflow's
// packaging step), install the tarball into an empty
// project with no compiler, make or python on the PATH (so the install can only succeed by
// loading the prebuild: node-gyp-build would otherwise fall back to compiling, and fail), then
// capture a datagram on the loopback interface with the installed copy.
// The dependencies come from the npm cache that our own npm install filled (--prefer-offline).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(__dirname, '..');
const platformTag = `${process.platform}-${process.arch}`;
// npm beside this node (a release tarball's layout), else the npm on PATH (.ci/run puts a Node
// from the npm registry, which has no npm of its own, first on the machine's PATH).
const npmCli =
  [
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
    ...(process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'npm')),
  ]
    .filter((file) => existsSync(file))
    .map((file) => realpathSync(file))[0] ?? '';
const isRoot = typeof process.geteuid === 'function' && process.geteuid() === 0;

interface PackInfo {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: Array<{ path: string; size: number }>;
}

function npm(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  return execFileSync(process.execPath, [npmCli, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
}

function pack(dir: string, destination: string): PackInfo {
  // --ignore-scripts: `prepare` (tsc) already ran, scripts/test compiles before vitest starts.
  const [info] = JSON.parse(
    npm(['pack', '--ignore-scripts', '--json', '--pack-destination', destination], { cwd: dir, env: withoutNpmVariables() }),
  ) as PackInfo[];
  return info;
}

/** The environment without what `npm test` exports (npm_config_*, npm_package_*, ...), which would steer a nested npm. */
function withoutNpmVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

/** A PATH with node, npm and a few basic tools, and certainly no compiler, make or python. */
function bareEnvironment(shim: string): NodeJS.ProcessEnv {
  mkdirSync(shim);
  symlinkSync(process.execPath, path.join(shim, 'node'));
  symlinkSync(npmCli, path.join(shim, 'npm'));
  for (const tool of ['sh', 'env', 'cat', 'ls', 'mkdir', 'rm', 'tar', 'gzip']) {
    const from = ['/bin', '/usr/bin'].map((dir) => path.join(dir, tool)).find((file) => existsSync(file));
    if (from) symlinkSync(from, path.join(shim, tool));
  }
  const env = { ...withoutNpmVariables(), PATH: shim };
  const found = execFileSync('/bin/sh', ['-c', 'for t in cc c++ gcc g++ clang clang++ make gmake python python3; do command -v $t; done; true'], {
    env,
    encoding: 'utf8',
  });
  expect(found.trim()).toBe('');
  return env;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

// The capture the installed package makes: the TPACKET_V3 provider on Linux when this build has
// it, else /dev/bpf (FreeBSD's kernel, or the model that npm test preloads on Linux).
const captureScript = `
const path = require('node:path');
const { capturesDatagram } = require(${JSON.stringify(path.join(repo, 'test/fixtures/loopback-datagram.js'))});
const { openCapture } = require('zbpf');
const addon = require('node-gyp-build').path(path.dirname(require.resolve('zbpf/package.json')));

async function tryProvider(provider) {
  const loopback = process.platform === 'freebsd' ? 'lo0' : 'lo';
  const capture = openCapture({ provider, interface: loopback, timeoutMs: 10 });
  const found = await capturesDatagram(capture, Buffer.from('zbpf-package-test-' + process.pid));
  return { provider, interface: loopback, mode: capture.mode, found };
}

(async () => {
  const attempts = [];
  for (const provider of process.platform === 'linux' ? ['tpacket', 'bpf'] : ['bpf']) {
    try {
      const attempt = await tryProvider(provider);
      attempts.push(attempt);
      if (attempt.found) break;
    } catch (error) {
      attempts.push({ provider, error: String(error.code) + ': ' + error.message });
    }
  }
  console.log(JSON.stringify({ addon, attempts }));
})();
`;

describe('the npm package', () => {
  let work: string;
  let packed: PackInfo;
  let app: string | undefined;
  let bare: NodeJS.ProcessEnv = {};

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'zbpf-package-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships only what users need', () => {
    expect(existsSync(path.join(repo, 'dist', 'index.js'))).toBe(true);
    packed = pack(repo, work);
    const files = packed.files.map((f) => f.path).sort();
    console.log(`npm pack: ${packed.filename}, ${kib(packed.size)} packed, ${kib(packed.unpackedSize)} unpacked, ${packed.entryCount} files`);

    expect(files).toEqual(expect.arrayContaining(['package.json', 'binding.gyp', 'dist/index.js', 'dist/index.d.ts', 'native/abi/freebsd_bpf.h', 'native/napi/addon.cc']));
    const allowed = /^(package\.json|binding\.gyp|README(\.md)?|LICENSE(\.md|\.txt)?|CHANGELOG(\.md)?|scripts\/install\.js|dist\/.+\.(js|d\.ts)|native\/.+\.(cc|h)|prebuilds\/[a-z0-9]+-[a-z0-9+]+\/[^/]+\.node)$/;
    expect(files.filter((file) => !allowed.test(file))).toEqual([]);
    // Explicitly: no tests, no build leftovers, no CI or VM files, no TypeScript sources or maps.
    expect(files.filter((file) => /^(test|build|\.github|\.ci|lib|bench|node_modules)\/|\.map$|^Vagrantfile$/.test(file))).toEqual([]);
  });

  it('ships no source-map comment that points at a file it does not ship', () => {
    if (!packed) packed = pack(repo, work);
    const shipped = new Set(packed.files.map((f) => f.path));
    const dangling: string[] = [];
    for (const file of shipped) {
      if (!/\.(js|d\.ts)$/.test(file)) continue;
      const text = readFileSync(path.join(repo, file), 'utf8');
      for (const [, target] of text.matchAll(/^\/\/# sourceMappingURL=(\S+)$/gm)) {
        if (!shipped.has(path.posix.join(path.posix.dirname(file), target))) dangling.push(`${file} -> ${target}`);
      }
    }
    expect(dangling).toEqual([]);
  });

  it.skipIf(!existsSync(npmCli))(
    'with no prebuild and no compiler, the install fails with one zbpf line after node-gyp\'s output that says what to install',
    () => {
      if (!packed) packed = pack(repo, work);
      const app = path.join(work, 'no-prebuild');
      mkdirSync(app);
      writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'zbpf-no-prebuild', version: '0.0.0', private: true }));
      let output = '';
      try {
        npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', path.join(work, packed.filename)], {
          cwd: app,
          env: bareEnvironment(path.join(work, 'bin-no-prebuild')),
        });
      } catch (error) {
        const failed = error as { stdout: string; stderr: string };
        output = `${failed.stdout}\n${failed.stderr}`;
      }
      expect(output, 'the install must fail').not.toBe('');
      const lines = output.split('\n');
      const ours = lines.flatMap((line, i) => (line.startsWith('zbpf: ') ? [i] : []));
      expect(ours).toHaveLength(1);
      expect(lines[ours[0]]).toMatch(process.platform === 'freebsd' ? /needs python3 and gmake \(pkg install python3 gmake/ : /needs python3, make and g\+\+ \(Debian\/Ubuntu: apt-get install python3 make g\+\+/);
      const gyp = lines.flatMap((line, i) => (/^gyp (ERR|info)/.test(line) ? [i] : []));
      expect(gyp.length, 'node-gyp ran and said why it failed').toBeGreaterThan(0);
      expect(ours[0]).toBeGreaterThan(Math.max(...gyp));
    },
    120_000,
  );

  it.skipIf(!existsSync(npmCli))(
    `installs from the tarball with no compiler on the PATH and loads the ${platformTag} prebuild`,
    () => {
      if (!packed) packed = pack(repo, work);

      // The release flow: prebuildify in the unpacked package (not in the repository, whose
      // build/ holds the addon and the /dev/bpf model the other tests use), then pack again.
      const stage = path.join(work, 'stage');
      mkdirSync(stage);
      execFileSync('tar', ['xzf', path.join(work, packed.filename), '-C', stage]);
      const unpacked = path.join(stage, 'package');
      symlinkSync(path.join(repo, 'node_modules'), path.join(unpacked, 'node_modules'));
      const started = Date.now();
      execFileSync(process.execPath, [path.join(repo, 'node_modules', 'prebuildify', 'bin.js'), '--napi', '--strip', '--quiet'], {
        cwd: unpacked,
        env: {
          ...process.env,
          PATH: `${path.join(repo, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
          PREBUILD_NODE_GYP: path.join(repo, 'node_modules', '.bin', 'node-gyp'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      console.log(`prebuildify --napi --strip: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      expect(readdirSync(path.join(unpacked, 'prebuilds', platformTag))).toEqual(['zbpf.node']);
      const releaseDir = path.join(work, 'release');
      const tarball = execFileSync(path.join(repo, 'scripts', 'release-pack'), [releaseDir, path.join(unpacked, 'prebuilds')], {
        env: withoutNpmVariables(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim();
      const contents = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
      console.log(`scripts/release-pack: ${path.basename(tarball)}, ${contents.length - 1} entries`);
      expect(contents).toContain(`package/prebuilds/${platformTag}/zbpf.node`);
      expect(contents.filter((entry) => /^package\/(build|node_modules)\//.test(entry))).toEqual([]);
      // scripts/release-local keeps the tarball where it is asked to.
      if (process.env.ZBPF_RELEASE_OUT) copyFileSync(tarball, path.join(process.env.ZBPF_RELEASE_OUT, path.basename(tarball)));

      bare = bareEnvironment(path.join(work, 'bin'));

      app = path.join(work, 'app');
      mkdirSync(app);
      writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'zbpf-package-test', version: '0.0.0', private: true }));
      npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], {
        cwd: app,
        env: bare,
      });
      const installed = path.join(app, 'node_modules', 'zbpf');
      expect(existsSync(path.join(installed, 'build'))).toBe(false); // nothing was compiled
      expect(existsSync(path.join(installed, 'prebuilds', platformTag, 'zbpf.node'))).toBe(true);
    },
    120_000,
  );

  it.skipIf(!existsSync(npmCli))('the installed copy imports from an ES module and ships the types its exports name', () => {
    expect(app, 'the install test above must pass first').toBeDefined();
    const script = "import { openCapture, openCaptureFile } from 'zbpf'; console.log(typeof openCapture, typeof openCaptureFile);";
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app!, env: bare, encoding: 'utf8' });
    expect(out.trim()).toBe('function function');
    const installed = path.join(app!, 'node_modules', 'zbpf');
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      exports: { '.': { types: string; default: string } };
    };
    expect(existsSync(path.join(installed, manifest.exports['.'].types))).toBe(true);
    expect(existsSync(path.join(installed, manifest.exports['.'].default))).toBe(true);
  });

  it.skipIf(!existsSync(npmCli) || !isRoot)(
    isRoot
      ? 'the installed copy captures a datagram on the loopback interface with the prebuild'
      : 'the installed copy captures a datagram on the loopback interface (skipped: capturing needs root)',
    () => {
      expect(app, 'the install test above must pass first').toBeDefined();
      writeFileSync(path.join(app!, 'capture.js'), captureScript);
      const result = JSON.parse(execFileSync(process.execPath, ['capture.js'], { cwd: app!, env: bare, encoding: 'utf8' })) as {
        addon: string;
        attempts: Array<{ provider: string; interface?: string; mode?: string; found?: boolean; error?: string }>;
      };
      console.log(`installed copy: ${JSON.stringify(result)}`);
      expect(result.addon).toBe(path.join(app!, 'node_modules', 'zbpf', 'prebuilds', platformTag, 'zbpf.node'));
      expect(result.attempts.filter((attempt) => attempt.found)).toHaveLength(1);
    },
    30_000,
  );
});
