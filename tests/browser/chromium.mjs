// The browser of the dashboard's tests: Debian's Chromium driven by
// playwright-core (never a downloaded browser), headless, in a fresh profile,
// at 1400x900 in light mode and UTC. Page errors are collected.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';

// { context, page, pageErrors, close() }; `timeoutMs`: the page's default timeout.
export async function launchChromium(timeoutMs) {
  if (!existsSync(browserPath)) {
    throw new Error(`Chromium not found at ${browserPath}: install it with scripts/install-deps.sh --test (Debian package chromium)`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'chaperone-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: browserPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
    colorScheme: 'light',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeoutMs);
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    context,
    page,
    pageErrors,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
