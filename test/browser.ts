// Debian's Chromium, headless, as the browser tests drive it through playwright-core (never a downloaded browser).
// The flags keep it off the network this machine does not have; a test whose Chromium is missing is skipped.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** The skip reason for a suite when Debian's chromium is not installed, else false. */
export const NO_CHROMIUM: string | false = !existsSync(CHROMIUM) && `${CHROMIUM} is missing (apt-get install chromium)`;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
