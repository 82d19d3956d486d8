import { appsClosedAfterEach } from './support/app';
import { readAuditRecords } from './support/audit';
import { manualClock } from './support/policy';

const open = appsClosedAfterEach();
const req = (key: string, text = 'start web01', principal = 'local:alice') => ({ principal, text, channel: { kind: 'slack' as const, id: 'C1' }, idempotencyKey: key });

describe('idempotency at the door', () => {
  test('two deliveries of one request at the same moment run it once: one intent, one result, the same reply twice', async () => {
    const app = await open({ VMBOT_SIM_LATENCY_MS: '200' });
    const [a, b] = await Promise.all([app.pipeline.handle(req('trigger-1')), app.pipeline.handle(req('trigger-1'))]);
    expect(a.text).toBe('web01 is running.');
    expect(b.text).toBe(a.text);
    expect(b.auditId).toBe(a.auditId);
    const recs = readAuditRecords(app.config.VMBOT_DATA_DIR).filter((r) => r.vm === 'web01');
    expect(recs.map((r) => r.kind)).toEqual(['intent', 'result']);
  });

  test('a redelivery after the first finished gets the first reply, and nothing new is audited or run', async () => {
    const app = await open();
    const first = await app.pipeline.handle(req('trigger-2'));
    const before = readAuditRecords(app.config.VMBOT_DATA_DIR).length;
    await app.backend.stop((await app.backend.get('web01'))!, 'turnoff');
    const again = await app.pipeline.handle(req('trigger-2'));
    expect(again).toMatchObject({ status: first.status, text: first.text, auditId: first.auditId });
    expect(readAuditRecords(app.config.VMBOT_DATA_DIR)).toHaveLength(before);
    expect((await app.backend.get('web01'))!.state).toBe('Off'); // not started a second time
  });

  test('the key belongs to the caller: another principal with the same key is a different request', async () => {
    const app = await open();
    await app.pipeline.handle(req('same', 'start web01'));
    const bob = await app.pipeline.handle(req('same', 'status db01', 'local:bob'));
    expect(bob.text).toMatch(/^db01 is /);
  });

  test('keys expire after a day: the state does not grow forever', async () => {
    const clock = manualClock();
    const app = await open({}, { clock });
    for (let i = 0; i < 5; i++) await app.pipeline.handle(req(`k${i}`, 'status web01'));
    expect(Object.keys(app.store.data.idempotency)).toHaveLength(5);
    clock.minutes(24 * 60 + 1);
    await app.pipeline.handle(req('fresh', 'status web01'));
    expect(Object.keys(app.store.data.idempotency)).toEqual(['local:alice|fresh']);
  });
});
