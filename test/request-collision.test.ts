import { readAuditRecords } from './support/audit';
import { appsClosedAfterEach, collectNotices, type TestApp } from './support/app';

/**
 * Issue 7 item 5: no existence oracle. `request <name>` must answer the same whether or not a VM
 * the requester cannot see has that name. A collision with a hidden VM is caught at approval:
 * the approver is told, the requester learns only that the request could not be fulfilled.
 */
const open = appsClosedAfterEach();

// web09 matches alice's "web*" pattern but lives on hv02, outside her scope (web = hv01): hidden.
const INVENTORY = JSON.stringify([
  { name: 'web01', host: 'hv01', state: 'Off' },
  { name: 'web02', host: 'hv01', state: 'Running' },
  { name: 'db01', host: 'hv02', state: 'Running' },
  { name: 'web09', host: 'hv02', state: 'Running' },
]);
const openApp = () => open({ VMBOT_SIM_INVENTORY: INVENTORY });
const requestId = (r: { data?: Record<string, unknown> }) => r.data?.requestId as string;

/** A reply with its VM name and request id replaced, so two replies can be compared. */
const shape = (r: { status: string; text: string; fields?: unknown; data?: Record<string, unknown> }, name: string) => {
  const id = requestId(r);
  const scrub = (s: string) => s.split(name).join('<vm>').split(id ?? '\u0000').join('<id>');
  return { status: r.status, text: scrub(r.text), fields: scrub(JSON.stringify(r.fields ?? null)), data: scrub(JSON.stringify(r.data ?? null)) };
};

async function hiddenToAlice(app: TestApp) {
  // Precondition: alice cannot see web09 (status answers like for a VM that does not exist).
  const seen = await app.say('alice', 'status web09');
  const none = await app.say('alice', 'status web77');
  expect(seen.status).toBe('denied');
  expect(seen.text.replace('web09', 'X')).toBe(none.text.replace('web77', 'X'));
}

describe('request: no oracle for VMs the requester cannot see', () => {
  test('requesting the name of a hidden VM answers exactly as for a free name', async () => {
    const app = await openApp();
    await hiddenToAlice(app);
    const hidden = await app.say('alice', 'request web09 --template web-small --reason "shop"');
    const free = await app.say('alice', 'request web10 --template web-small --reason "shop"');
    expect(hidden.status).toBe('pending');
    expect(hidden.text).not.toMatch(/exist/i);
    expect(shape(hidden, 'web09')).toEqual(shape(free, 'web10'));
  });

  test('a VM the requester can see still gets a plain "already exists"', async () => {
    const app = await openApp();
    const r = await app.say('alice', 'request web01 --template web-small');
    expect(r.status).toBe('invalid');
    expect(r.text).toMatch(/A VM named web01 already exists/);
  });

  test('at approval the approver is told of the collision; the requester learns only that it could not be fulfilled; nothing is created or touched', async () => {
    const app = await openApp();
    const notices = collectNotices(app);
    let creates = 0;
    const real = app.backend.create.bind(app.backend);
    app.backend.create = async (spec) => (creates++, real(spec));
    const r = await app.say('alice', 'request web09 --template web-small');
    // The approvers' card already warns them; it goes to approvers only.
    const card = notices.find((n) => n.to.includes('carol'))!;
    expect(card.to).not.toContain('alice');
    expect(card.reply.text).toMatch(/already exists/);

    const a = await app.say('carol', `approve ${requestId(r)}`);
    expect(a.status).not.toBe('done');
    expect(a.text).toMatch(/cannot be fulfilled/);
    expect(a.text).toMatch(/a VM named web09 already exists/);
    expect(a.text).not.toMatch(/hv02/); // the approver learns of the name, not where it lives
    expect(creates).toBe(0);
    expect((await app.backend.get('web09'))).toMatchObject({ host: 'hv02', state: 'Running' });
    expect(app.store.data.approvals[requestId(r)]!.status).toBe('failed');

    const toAlice = notices.filter((n) => n.to.includes('alice')).map((n) => n.reply.text);
    expect(toAlice).toHaveLength(1);
    expect(toAlice[0]).toMatch(/could not be fulfilled/);
    expect(toAlice[0]).not.toMatch(/exist|hv02|name/i);
    // alice's own view of the request says the same, no more.
    const mine = await app.say('alice', 'requests');
    expect(mine.text).toMatch(new RegExp(`${requestId(r)}.*could not be fulfilled`));
    expect(mine.text).not.toMatch(/exist|hv02/i);
    const shown = await app.say('alice', `request show ${requestId(r)}`);
    expect(shown.status).toBe('done');
    expect(shown.text).toMatch(/could not be fulfilled/);
    expect(shown.text).not.toMatch(/exist|hv02/i);
    // The approver's view of the same request names the reason.
    expect((await app.say('carol', `request show ${requestId(r)}`)).text).toMatch(/already exists/);

    // A second approver finds it closed; the auditor finds why.
    expect((await app.say('erin', `approve ${requestId(r)}`)).text).toMatch(/already failed/);
    const rec = readAuditRecords(app.config.VMBOT_DATA_DIR).find((x) => x.operation === 'request.collision');
    expect(rec).toMatchObject({ correlationId: requestId(r), vm: 'web09', outcome: 'failed' });
  });

  test('a VM created under that name after the approval check (a race) still tells the requester nothing more', async () => {
    const app = await openApp();
    const notices = collectNotices(app);
    const r = await app.say('alice', 'request web11 --template web-small');
    // Someone creates web11 on hv02 out of band, just before vmbot's New-VM runs.
    const real = app.backend.create.bind(app.backend);
    app.backend.create = async (spec) => {
      await real({ ...spec, host: 'hv02' });
      return real(spec);
    };
    const a = await app.say('carol', `approve ${requestId(r)}`);
    expect(a.status).not.toBe('done');
    const toAlice = notices.filter((n) => n.to.includes('alice')).map((n) => n.reply.text);
    expect(toAlice.join('\n')).toMatch(/could not be fulfilled/);
    expect(toAlice.join('\n')).not.toMatch(/exist|hv02/i);
    const shown = await app.say('alice', `request show ${requestId(r)}`);
    expect(shown.text).toMatch(/could not be fulfilled/);
    expect(shown.text).not.toMatch(/exist|hv02/i);
  });
});

describe('request: no oracle for requests the requester cannot see either', () => {
  test("another scope's pending request for the same name is not revealed; its own scope's still is", async () => {
    const { policyVariant } = await import('./support/policy');
    const file = policyVariant((p) => {
      p.scopes['web-b'] = { vms: ['web*'], hosts: ['hv02'] };
      p.assignments.push({ role: 'requester', scope: 'web-b', users: ['bob'] }, { role: 'approver', scope: 'web-b', users: ['carol'] });
      p.templates!['web-b-small'] = { ...p.templates!['web-small']!, hosts: ['hv02'], scope: 'web-b' };
    });
    const app = await open({ VMBOT_POLICY: file });
    expect((await app.say('bob', 'request web20 --template web-b-small')).status).toBe('pending');
    const alice = await app.say('alice', 'request web20 --template web-small');
    const free = await app.say('alice', 'request web21 --template web-small');
    expect(alice.status).toBe('pending');
    expect(shape(alice, 'web20')).toEqual(shape(free, 'web21'));
    // In alice's own scope a duplicate is hers to know about.
    const dup = await app.say('alice', 'request web21 --template web-small');
    expect(dup.status).toBe('invalid');
    expect(dup.text).toMatch(/already requested/);
  });
});

describe('request: approved before a restart, a VM of that name elsewhere is not taken for ours', () => {
  test('resume after a restart closes the request as unfulfillable instead of adopting a hidden VM', async () => {
    const app = await openApp();
    const notices = collectNotices(app);
    const r = await app.say('alice', 'request web12 --template web-small');
    const id = requestId(r);
    // As if approved and then the bot stopped before New-VM; meanwhile web12 appeared on hv02.
    await app.store.update((d) => void Object.assign(d.approvals[id]!, { status: 'approved', approvals: [{ user: 'carol', at: new Date().toISOString() }] }));
    await app.backend.create({ name: 'web12', host: 'hv02', generation: 2, cpuCount: 1, memoryMB: 512, diskGB: 10, switch: 'x' });
    await app.services.approvals.resumeApproved();
    const req = app.store.data.approvals[id]!;
    expect(req.status).toBe('failed');
    expect(req.vm).toBeUndefined();
    const toAlice = notices.filter((n) => n.to.includes('alice')).map((n) => n.reply.text).join('\n');
    expect(toAlice).toMatch(/could not be fulfilled/);
    expect(toAlice).not.toMatch(/exist|hv02/i);
  });
});
