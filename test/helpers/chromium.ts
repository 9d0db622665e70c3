import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium: playwright-core downloads no browser, and CI has no network to fetch one. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a machine without network or display: nothing phones home
 * (component updates, sync, field trials), and no sandbox, since CI runs as
 * root in a container where Chromium's sandbox cannot start.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Launches Debian's chromium. A missing browser fails the caller with the
 * fix, never skips it: a browser test that quietly does not run proves
 * nothing.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `${CHROMIUM_PATH} is missing: the browser tests drive Debian's chromium. ` +
        'Install it with `apt-get install --no-install-recommends chromium` (.ci/run does).',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
}
