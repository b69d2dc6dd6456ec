// What the aggregator makes of `$SRV.STATS` replies, hostile ones included: a reply that is not one is ignored,
// a second reply from the same instance is not counted twice, bad data is dropped, and promtool accepts the output.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { renderMeshMetrics } from '../../mesh/observability/mesh-metrics.ts';
import { createStatsGatherer, gatherStats, parseStatsReply, quantileMs, summarize, SERVICE_STATS_SUBJECT } from '../../mesh/observability/mesh-stats.ts';
import { NATS_URL, silentLogger, uniqueName } from '../helpers.ts';
import { checkMetrics, sampleValue } from './promtool.ts';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function statsReply(service: string, id: string, endpoints: unknown[]) {
  return { type: 'io.nats.micro.v1.stats_response', name: service, id, version: '1.0.0', started: new Date().toISOString(), endpoints };
}

const endpoint = (subject: string, extra: Record<string, unknown> = {}) => ({
  name: 'x',
  subject,
  queue_group: 'q',
  num_requests: 4,
  num_errors: 1,
  last_error: '',
  processing_time: 8_000_000,
  average_processing_time: 2_000_000,
  ...extra,
});

describe('the $SRV.STATS aggregator', () => {
  it('ignores what is not a stats reply, endpoints whose subject is not a name, and a subject listed twice', () => {
    assert.equal(parseStatsReply(new TextEncoder().encode('not json')), undefined);
    assert.equal(parseStatsReply(encode({ type: 'io.nats.micro.v1.info_response', name: 'a', id: 'b', endpoints: [] })), undefined);
    assert.equal(parseStatsReply(encode(statsReply('bad name"', 'id1', []))), undefined);
    const parsed = parseStatsReply(encode(statsReply('svc', 'id1', [endpoint('svc.ok'), endpoint('svc.bad name'), endpoint('svc.*'), { subject: 42 }, endpoint('svc.ok', { num_requests: 99 })])));
    assert.deepEqual(
      parsed?.map((e) => e.procedure),
      ['svc.ok'],
    );
    assert.deepEqual(parsed?.[0], { service: 'svc', instance: 'id1', procedure: 'svc.ok', requests: 4, errors: 1, processingS: 0.008, averageS: 0.002 });
  });

  it('drops a histogram whose bounds or counts are not increasing, and error codes that are not codes', () => {
    const data = { errors: 1, in_flight: 2, errors_by_code: { NOT_FOUND: 1, 'bad code': 5 }, latency: { buckets_s: [0.1, 0.05], counts: [1, 2, 4], sum_s: 1 } };
    const [figures] = parseStatsReply(encode(statsReply('svc', 'id1', [endpoint('svc.ok', { data })])))!;
    assert.equal(figures!.latency, undefined);
    assert.deepEqual(figures!.errorsByCode, { NOT_FOUND: 1 });
    assert.equal(figures!.inFlight, 2);
  });

  it('estimates quantiles within a bucket as histogram_quantile does', () => {
    const histogram = { bucketsS: [0.01, 0.1, 1], counts: [50, 90, 100], sumS: 10 };
    assert.equal(quantileMs(histogram, 100, 0.5), 10);
    assert.equal(Number(quantileMs(histogram, 100, 0.7)!.toFixed(6)), 55);
    assert.equal(Number(quantileMs(histogram, 100, 0.99)!.toFixed(6)), 910);
    assert.equal(quantileMs(histogram, 0, 0.5), undefined);
  });

  it('renders label values with quotes and backslashes escaped, accepted by promtool', async () => {
    const figures = { service: 'svc', instance: 'id1', procedure: 'svc.a\\"b', requests: 3, errors: 0, processingS: 0.3, averageS: 0.1 };
    const text = await renderMeshMetrics([figures], 0.25);
    assert.equal(checkMetrics(text), '');
    assert.ok(text.includes('procedure="svc.a\\\\\\"b"'), text);
    assert.equal(sampleValue(text, 'mesh_stats_instances', {}), 1);
  });

  it("renders each instance's latency histogram with the bounds it sent, accepted by promtool", async () => {
    const figures = (instance: string, bucketsS: number[], counts: number[]) => ({
      service: 'svc',
      instance,
      procedure: 'svc.a',
      requests: counts.at(-1)! + 1,
      errors: 0,
      processingS: 0.5,
      averageS: 0.1,
      latency: { bucketsS, counts, sumS: 0.5 },
    });
    const text = await renderMeshMetrics([figures('id1', [0.01, 0.1], [1, 3]), figures('id2', [0.5], [2])], 0.25);
    assert.equal(checkMetrics(text), '');
    const bucket = (instance_id: string, le: string) => sampleValue(text, 'mesh_endpoint_duration_seconds_bucket', { instance_id, le });
    assert.deepEqual([bucket('id1', '0.01'), bucket('id1', '0.1'), bucket('id1', '+Inf'), bucket('id1', '0.5')], [1, 3, 4, undefined]);
    assert.deepEqual([bucket('id2', '0.5'), bucket('id2', '+Inf')], [2, 3]);
    assert.equal(sampleValue(text, 'mesh_endpoint_duration_seconds_sum', { instance_id: 'id2' }), 0.5);
    assert.equal(sampleValue(text, 'mesh_endpoint_duration_seconds_count', { instance_id: 'id2' }), 3);
  });

  describe('gathering on NATS', () => {
    let nc: NatsConnection;
    const service = uniqueName('rogue');
    before(async () => {
      nc = await connect({ servers: NATS_URL });
      // A rogue instance that answers every stats request twice, and a malformed reply beside it.
      nc.subscribe(SERVICE_STATS_SUBJECT, {
        callback: (_err, msg) => {
          const reply = encode(statsReply(service, 'rogue1', [endpoint(`${service}.twice`)]));
          msg.respond(reply);
          msg.respond(reply);
          msg.respond(new TextEncoder().encode('{"type":'));
        },
      });
      await nc.flush();
    });
    after(() => nc.drain());

    it('shares one gather among callers, and reuses its result for reuseMs: a flood sends one $SRV.STATS', async () => {
      const inbox = uniqueName('stats_inbox');
      let asked = 0;
      const counter = nc.subscribe(SERVICE_STATS_SUBJECT, {
        callback: (_err, msg) => {
          if (msg.reply?.startsWith(`${inbox}.`)) asked++;
        },
      });
      await nc.flush();
      const gather = createStatsGatherer(nc, { logger: silentLogger, waitMs: 100, reuseMs: 400, inboxPrefix: inbox });
      const first = await Promise.all(Array.from({ length: 20 }, () => gather()));
      assert.equal(new Set(first).size, 1, 'one result for every caller of the same gather');
      await gather();
      assert.equal(asked, 1);
      await new Promise((resolve) => setTimeout(resolve, 450));
      await gather();
      assert.equal(asked, 2);
      counter.unsubscribe();
    });

    it('counts an instance once however often it answers, and waits no longer than asked', async () => {
      const started = performance.now();
      const endpoints = await gatherStats(nc, { logger: silentLogger, waitMs: 200 });
      assert.ok(performance.now() - started < 1000);
      const mine = endpoints.filter((e) => e.service === service);
      assert.equal(mine.length, 1);
      const [procedure] = summarize(mine);
      assert.deepEqual([procedure!.instances, procedure!.requests, procedure!.errors], [1, 4, 1]);
    });
  });
});
