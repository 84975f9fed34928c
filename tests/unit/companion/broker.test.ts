// The broker's report of a failed dial back (companion/mesh/broker.ts): the target tells the broker,
// the broker tells the requester once, and only for an introduction it made; the requester hears it
// as `dialFailed`. Links are recorders of the frames sent to them.
import { describe, expect, it } from 'vitest';
import { ActivityLog } from '../../../companion/mesh/activity.ts';
import { Broker } from '../../../companion/mesh/broker.ts';
import type { Link } from '../../../companion/mesh/link.ts';
import type { LinkManager } from '../../../companion/mesh/link-manager.ts';
import type { BrokerFrame } from '../../../protocol/mesh/relay.ts';

const quiet = { info() {}, warn() {}, error() {} };

function fakeLink(peerId: string) {
  const sent: BrokerFrame[] = [];
  const link = { peerId, isOpen: true, info: { via: null, payload: { endpoints: [`ws://127.0.0.1:1`] } }, send: (frame: BrokerFrame) => sent.push(frame) };
  return { link: link as unknown as Link, sent };
}

function brokerOver(links: Link[]) {
  const manager = { get: (peerId: string) => links.find((link) => link.peerId === peerId) } as unknown as LinkManager;
  return new Broker({ manager, log: quiet, activity: new ActivityLog(), policy: () => 'broker_only', mayDial: () => true });
}

const dialFailed = (sent: BrokerFrame[]) => sent.filter((frame) => frame.t === 'broker_result' && frame.code === 'dial_failed');

describe('Broker: a failed dial back', () => {
  it('is passed on to the requester once, for an introduction the broker made', () => {
    const a = fakeLink('RequesterAAAAAAA');
    const b = fakeLink('TargetBBBBBBBBBB');
    const c = fakeLink('OtherCCCCCCCCCCC');
    const broker = brokerOver([a.link, b.link, c.link]);

    // A report with no introduction behind it, or from a peer that was not the target: nothing.
    broker.receive(b.link, { t: 'broker_dial_failed', requester: a.link.peerId });
    expect(dialFailed(a.sent)).toEqual([]);

    broker.receive(a.link, { t: 'broker_request', target: b.link.peerId });
    expect(b.sent).toEqual([{ t: 'broker_intro', requester: a.link.peerId, endpoints: ['ws://127.0.0.1:1'] }]);
    broker.receive(c.link, { t: 'broker_dial_failed', requester: a.link.peerId });
    expect(dialFailed(a.sent)).toEqual([]);

    broker.receive(b.link, { t: 'broker_dial_failed', requester: a.link.peerId });
    broker.receive(b.link, { t: 'broker_dial_failed', requester: a.link.peerId });
    expect(dialFailed(a.sent)).toEqual([
      { t: 'broker_result', target: b.link.peerId, status: 'refused', code: 'dial_failed', reason: 'the peer could not reach your addresses' },
    ]);
  });

  it('reaches the requester as dialFailed when nobody waits for an answer', () => {
    const relay = fakeLink('BrokerRRRRRRRRRR');
    const requester = brokerOver([relay.link]);
    const heard: string[] = [];
    requester.on('dialFailed', (target) => heard.push(target));
    requester.receive(relay.link, { t: 'broker_result', target: 'TargetBBBBBBBBBB', status: 'refused', code: 'dial_failed', reason: '' });
    expect(heard).toEqual(['TargetBBBBBBBBBB']);
  });
});
