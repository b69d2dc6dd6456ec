// Rate budgets as the gateways use them: per identity when authenticated, else per client address, the most
// generous role's budget, and nothing counted unless a budget is configured.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../mesh/gateway.ts';
import { createRateLimiter, RateLimitedError, type RateCaller, type RateLimitConfig } from '../../mesh/edge/rate-limit.ts';

const alice = { id: 'alice', roles: ['reader'], method: 'jwt' } as const;
const bob = { id: 'bob', roles: ['reader'], method: 'jwt' } as const;
const root = { id: 'root', roles: ['reader', 'admin'], method: 'api_key' } as const;
const anonymous = { id: 'anonymous', roles: [], method: 'anonymous' } as const;

/** How many of `tries` requests the budget lets through. */
async function allowed(config: RateLimitConfig, caller: RateCaller, tries: number, limiter = createRateLimiter(config)): Promise<number> {
  let passed = 0;
  for (let i = 0; i < tries; i++) if (!(await limiter.take(caller))) passed++;
  return passed;
}

describe('rate limits', () => {
  it('is off with the default configuration', async () => {
    const config = loadConfig({ env: {}, overrides: {} }).rateLimit;
    const limiter = createRateLimiter(config);
    assert.equal(limiter.enabled, false);
    assert.equal(await allowed(config, { address: '10.0.0.1' }, 1000, limiter), 1000);
  });

  it('reads the default budget from RATE_LIMIT_POINTS and RATE_LIMIT_DURATION_S', () => {
    const config = loadConfig({ env: { RATE_LIMIT_POINTS: '50', RATE_LIMIT_DURATION_S: '10' }, overrides: {} });
    assert.deepEqual(config.rateLimit, { points: 50, durationS: 10, roles: {} });
    assert.throws(() => loadConfig({ env: { RATE_LIMIT_POINTS: '-1' }, overrides: {} }), /rateLimit\.points \(environment RATE_LIMIT_POINTS\)/);
  });

  it('refuses the request past the budget with RESOURCE_EXHAUSTED and the seconds to wait', async () => {
    const limiter = createRateLimiter({ points: 3, durationS: 30, roles: {} });
    for (let i = 0; i < 3; i++) assert.equal(await limiter.take({ address: '10.0.0.1' }), undefined);
    const refused = await limiter.take({ address: '10.0.0.1' });
    assert.ok(refused instanceof RateLimitedError);
    assert.equal(refused.code, 'RESOURCE_EXHAUSTED');
    assert.equal(refused.status, 429);
    assert.ok(refused.retryAfterS >= 29 && refused.retryAfterS <= 30, String(refused.retryAfterS));
    assert.match(refused.message, /at most 3 per 30 s/);
  });

  it('counts each address apart, and each identity apart whatever its address', async () => {
    const limiter = createRateLimiter({ points: 2, durationS: 60, roles: {} });
    const config = { points: 2, durationS: 60, roles: {} };
    assert.equal(await allowed(config, { address: '10.0.0.1' }, 5, limiter), 2);
    assert.equal(await allowed(config, { address: '10.0.0.2' }, 5, limiter), 2);
    // alice behind the exhausted address still has her own budget, and keeps it from another address.
    assert.equal(await allowed(config, { address: '10.0.0.1', identity: alice }, 1, limiter), 1);
    assert.equal(await allowed(config, { address: '10.0.0.9', identity: alice }, 5, limiter), 1);
    assert.equal(await allowed(config, { address: '10.0.0.9', identity: bob }, 5, limiter), 2);
  });

  it('tells anonymous callers apart by address, not by their shared id', async () => {
    const config = { points: 1, durationS: 60, roles: {} };
    const limiter = createRateLimiter(config);
    assert.equal(await allowed(config, { address: '10.0.0.1', identity: anonymous }, 3, limiter), 1);
    assert.equal(await allowed(config, { address: '10.0.0.2', identity: anonymous }, 3, limiter), 1);
  });

  it('gives an identity the most generous budget among its roles; 0 points is no limit', async () => {
    const config = { points: 1, durationS: 60, roles: { reader: { points: 5, durationS: 60 }, admin: { points: 0, durationS: 1 } } };
    assert.equal(await allowed(config, { address: 'a', identity: alice }, 10), 5);
    assert.equal(await allowed(config, { address: 'a', identity: root }, 100), 100);
    assert.equal(await allowed(config, { address: 'a' }, 10), 1);
  });

  it('is enabled by a role budget alone, leaving callers without that role unlimited', async () => {
    const config = { points: 0, durationS: 1, roles: { reader: { points: 2, durationS: 60 } } };
    assert.equal(createRateLimiter(config).enabled, true);
    assert.equal(await allowed(config, { address: 'a', identity: alice }, 5), 2);
    assert.equal(await allowed(config, { address: 'a' }, 50), 50);
  });
});
