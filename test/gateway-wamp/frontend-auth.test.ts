// The page signing in and out in a real browser (Debian chromium via playwright-core), against a gateway with a
// JWT secret and a policy: anonymous as the guest role, a token's identity shown and used, a bad token refused.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, NO_CHROMIUM } from '../browser.ts';
import { start } from '../../gateway-wamp/index.ts';
import { createIdentityVerifier } from '../../mesh/auth/index.ts';
import { hostService, type HostedService } from '../../mesh/gateway.ts';
import GreetingService from '../../services/greeting/index.ts';
import { silentLogger, testConfig, uniqueName } from '../helpers.ts';

const WAIT = { timeout: 15_000 };
const SECRET = 'a-page-test-secret-that-is-at-least-32-characters';

describe('the WAMP page signing in, in chromium', { skip: NO_CHROMIUM }, () => {
  let nc: NatsConnection;
  let hosted: HostedService;
  let gateway: Awaited<ReturnType<typeof start>>;
  let browser: Browser;
  let page: Page;
  const greeting = new GreetingService();
  greeting.name = uniqueName('greeting');

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wamp-page-'));
    writeFileSync(
      join(dir, 'policy.json'),
      JSON.stringify({
        anonymous: 'guest',
        roles: { guest: [], admin: [{ uri: greeting.name, match: 'prefix', allow: ['call'] }] },
      }),
    );
    const config = testConfig({ 'auth.jwtSecret': SECRET, 'auth.policyFile': join(dir, 'policy.json') });
    nc = await connect({ servers: config.nats.url });
    hosted = await hostService(greeting, { nc, logger: silentLogger, identity: createIdentityVerifier(config.auth) });
    gateway = await start({ config, logger: silentLogger });
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await gateway.stop();
    await hosted.stop();
    await nc.drain();
  });

  const logEntry = (kind: string, text: string) => page.locator(`#log li.${kind}`, { hasText: text }).first();
  const callGreeting = async () => {
    await page.fill('#call-procedure', `${greeting.name}.hello`);
    await page.click('#call-button');
  };

  it('connects anonymously as the guest role, which may not call', async () => {
    await page.goto(gateway.url);
    await page.locator('#state[data-state="connected"]').waitFor(WAIT);
    assert.equal(await page.textContent('#identity'), 'anonymous (guest, anonymous)');
    await callGreeting();
    await logEntry('error', 'wamp.error.not_authorized').waitFor(WAIT);
  });

  it('signs in with a token, shows who it is connected as, and may call', async () => {
    const token = await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    await page.fill('#credential', token);
    await page.click('#sign-in-button');
    await page.locator('#identity', { hasText: 'alice (admin, ticket)' }).waitFor(WAIT);
    assert.equal(await page.inputValue('#credential'), '', 'the field does not keep the token on screen');
    await callGreeting();
    await logEntry('result', 'Hello, Bob Ross').waitFor(WAIT);
  });

  it('shows a refused sign-in and does not retry it', async () => {
    await page.fill('#credential', 'mk_not_a_key');
    await page.click('#sign-in-button');
    await page.locator('#state[data-state="refused"]').waitFor(WAIT);
    assert.match((await page.textContent('#state-detail')) ?? '', /wamp\.error\.authentication_failed/);
    assert.equal(await page.textContent('#identity'), 'nobody');
  });

  it('signs out to an anonymous session', async () => {
    await page.click('#sign-out-button');
    await page.locator('#state[data-state="connected"]').waitFor(WAIT);
    assert.equal(await page.textContent('#identity'), 'anonymous (guest, anonymous)');
  });
});
