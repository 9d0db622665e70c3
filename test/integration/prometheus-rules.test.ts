import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ruleGroups } from '../../dashboards/src/rules.js';

const run = promisify(execFile);
const rulesDir = fileURLToPath(new URL('../../dashboards/prometheus/', import.meta.url));
const testsDir = rulesDir + 'tests/';

/** promtool's output, or a failure that says how to install it: CI installs it (.ci/run), and a missing tool must never pass as a skip. */
async function promtool(args: string[], cwd: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd, timeout: 110_000 });
    return stdout + stderr;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(
        'promtool is not installed: `apt-get install -y --no-install-recommends prometheus` (Debian; .ci/run does this)',
        { cause: err },
      );
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: err });
  }
}

describe('Prometheus rules (promtool)', () => {
  const groups = ruleGroups();

  it('every rule group has its file and its test file, and nothing else is there', () => {
    const yaml = (dir: string) =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort();
    const expected = groups.map((g) => g.file).sort();
    expect(yaml(rulesDir)).toEqual(expected);
    expect(yaml(testsDir)).toEqual(expected);
  });

  it('promtool check rules accepts every rule file', async () => {
    const out = await promtool(['check', 'rules', ...groups.map((g) => g.file)], rulesDir);
    for (const g of groups) expect(out).toContain(`Checking ${g.file}`);
    expect(out).not.toMatch(/FAILED|WARNING/);
  });

  it.each(groups.map((g) => g.file))(
    'promtool test rules tests/%s passes',
    async (file) => {
      const out = await promtool(['test', 'rules', file], testsDir);
      expect(out).toContain('SUCCESS');
    },
    120_000,
  ); // The burn-rate tests evaluate three days of series: about 15 s on one core.
});
