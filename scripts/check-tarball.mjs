// Checks the packed tarball as a user receives it: the LICENSE is shipped, every source map
// carries the sources it names (stack traces and debuggers need them: lib/ is not shipped), and
// package.json points at the repository. Prints one line per check and writes the counts in
// Jest's JSON shape ({ numPassedTests, numFailedTests }) for .ci/run's final line.
//
//   node scripts/check-tarball.mjs nestjs-events-0.1.0.tgz [report.json]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const [tarball, reportPath] = process.argv.slice(2);
if (!tarball) {
  process.stderr.write('usage: node scripts/check-tarball.mjs <tarball> [report.json]\n');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'nestjs-events-tarball-'));
execFileSync('tar', ['xzf', resolve(tarball), '-C', dir]);
const root = join(dir, 'package');

const results = [];
function check(name, failures) {
  results.push({ name, ok: failures.length === 0 });
  process.stdout.write(`${failures.length === 0 ? 'ok  ' : 'FAIL'} ${name}\n`);
  for (const failure of failures.slice(0, 10)) process.stdout.write(`       ${failure}\n`);
}

function walk(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(folder, entry.name)) : [join(folder, entry.name)],
  );
}
const files = walk(root).map((file) => relative(root, file));

const license = files.includes('LICENSE') ? readFileSync(join(root, 'LICENSE'), 'utf8') : '';
check(
  'LICENSE is shipped (MIT, with the copyright line)',
  license.startsWith('MIT License') &&
    license.includes('Copyright (c) 2026 nestjs-events contributors')
    ? []
    : ['LICENSE missing or not the MIT text'],
);

const maps = files.filter((file) => file.endsWith('.map'));
const mapFailures = [];
for (const file of maps) {
  const map = JSON.parse(readFileSync(join(root, file), 'utf8'));
  map.sources.forEach((source, i) => {
    const content = map.sourcesContent?.[i];
    if (typeof content !== 'string' || content.length === 0) {
      mapFailures.push(`${file}: no sourcesContent for ${source}`);
    }
  });
}
if (maps.length === 0) mapFailures.push('no .map files in the tarball');
check(`every source map (${maps.length}) carries the sources it names`, mapFailures);

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const https = (value) => typeof value === 'string' && value.includes('https://github.com/');
check(
  'package.json has repository, bugs and homepage',
  [
    https(pkg.repository?.url) ? undefined : 'repository.url',
    https(pkg.bugs?.url) ? undefined : 'bugs.url',
    https(pkg.homepage) ? undefined : 'homepage',
  ].filter(Boolean),
);

rmSync(dir, { recursive: true, force: true });
const failed = results.filter((result) => !result.ok).length;
if (reportPath) {
  const report = { numPassedTests: results.length - failed, numFailedTests: failed };
  writeFileSync(reportPath, JSON.stringify(report));
}
process.exit(failed === 0 ? 0 : 1);
