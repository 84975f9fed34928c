import { EventEmitter } from 'node:events';
import { canonicalizeEndpoints } from '../../protocol/invite.ts';
import type { BrokerFrame, BrokerRefusal } from '../../protocol/mesh/relay.ts';
import type { Logger } from '../logger.ts';
import { PeerBudgets } from '../token-bucket.ts';
import type { ActivityLog } from './activity.ts';
import { DIAL_CONCURRENCY, DIAL_DEADLINE_MS, dialFirst } from './dial-race.ts';
import type { Link } from './link.ts';
import type { LinkManager } from './link-manager.ts';

/** How long a requester waits for a broker's answer. */
export const BROKER_ANSWER_TIMEOUT_MS = 5_000;
/** How long a broker passes on the target's report that its dial back failed; introductions remembered for it. */
const DIAL_REPORT_MS = 30_000;
const MAX_PENDING_REPORTS = 256;
/** Broker requests a peer may send us, and introductions a broker may send us: a burst, then a rate. */
const REQUESTS = { burst: 8, perSecond: 0.5 };
const INTROS = { burst: 4, perSecond: 0.2 };

export type BrokerAnswer = { status: 'forwarded' } | { status: 'refused'; code: BrokerRefusal | 'timeout' | string; reason: string };

/**
 * Brokering (guide §8 steps 3–5): a requester asks a peer linked with both to introduce it; the
 * broker (policy broker_only or full_relay) passes the requester's advertised endpoints to the
 * target, which dials them expecting the requester's peer ID, so a lying broker cannot link it to
 * anyone else. Who may link stays the consent rule's call on both sides.
 */
export class Broker extends EventEmitter<{ dialFailed: [target: string] }> {
  /** Introductions we brokered, `requester/target` → until when the target's failure report is passed on. */
  private readonly reportable = new Map<string, number>();
  private readonly requestBudgets = new PeerBudgets(REQUESTS.burst, REQUESTS.perSecond);
  private readonly introBudgets = new PeerBudgets(INTROS.burst, INTROS.perSecond);
  private readonly waiting = new Map<string, Array<(answer: BrokerAnswer) => void>>();

  constructor(
    private readonly options: {
      manager: LinkManager;
      log: Logger;
      activity: ActivityLog;
      policy: () => string;
      /** Whether we would dial this peer now (not paused or forgotten by the user). */
      mayDial: (peerId: string) => boolean;
    },
  ) {
    super();
  }

  /** Requester: asks `broker` to introduce us to `target`. */
  ask(broker: Link, target: string): Promise<BrokerAnswer> {
    return new Promise((resolve) => {
      const key = `${broker.peerId}/${target}`;
      const timer = setTimeout(() => settle({ status: 'refused', code: 'timeout', reason: 'no answer from the broker' }), BROKER_ANSWER_TIMEOUT_MS);
      const settle = (answer: BrokerAnswer) => {
        clearTimeout(timer);
        const waiters = this.waiting.get(key)?.filter((waiter) => waiter !== settle) ?? [];
        if (waiters.length) this.waiting.set(key, waiters);
        else this.waiting.delete(key);
        resolve(answer);
      };
      this.waiting.set(key, [...(this.waiting.get(key) ?? []), settle]);
      broker.send({ t: 'broker_request', target });
    });
  }

  receive(link: Link, frame: BrokerFrame): void {
    switch (frame.t) {
      case 'broker_request':
        return this.forward(link, frame.target);
      case 'broker_intro':
        return this.introduced(link, frame.requester, frame.endpoints);
      case 'broker_dial_failed':
        return this.passOnDialFailure(link, frame.requester);
      case 'broker_result': {
        const waiters = this.waiting.get(`${link.peerId}/${frame.target}`) ?? [];
        for (const waiter of waiters) {
          waiter(frame.status === 'forwarded' ? { status: 'forwarded' } : { status: 'refused', code: frame.code ?? 'refused', reason: frame.reason ?? '' });
        }
        // After a 'forwarded', a refusal nobody waits for is the target reporting its dial back failed.
        if (waiters.length === 0 && frame.code === 'dial_failed') this.emit('dialFailed', frame.target);
        return;
      }
    }
  }

  /** Broker: passes the requester's endpoints to the target, or says why not. */
  private forward(requester: Link, targetId: string): void {
    const refuse = (code: BrokerRefusal, reason: string): void => {
      requester.send({ t: 'broker_result', target: targetId, status: 'refused', code, reason });
    };
    if (this.options.policy() === 'off') return refuse('relay_disabled', 'this peer does not broker (its relay policy is off)');
    if (!this.requestBudgets.take(requester.peerId)) return refuse('rate_limited', 'too many broker requests; try again later');
    const target = this.options.manager.get(targetId);
    if (!target || target === requester || target.info.via) return refuse('target_unreachable', 'the broker has no direct link to that peer');
    target.send({ t: 'broker_intro', requester: requester.peerId, endpoints: requester.info.payload.endpoints });
    this.reportable.delete(`${requester.peerId}/${targetId}`);
    this.reportable.set(`${requester.peerId}/${targetId}`, Date.now() + DIAL_REPORT_MS);
    if (this.reportable.size > MAX_PENDING_REPORTS) this.reportable.delete(this.reportable.keys().next().value!);
    requester.send({ t: 'broker_result', target: targetId, status: 'forwarded' });
    this.options.activity.record(requester.peerId, 'broker', `introduced to ${targetId} at its request`);
  }

  /** Target: a broker says `requester` wants a link; dial its endpoints expecting its peer ID. */
  private introduced(broker: Link, requester: string, endpoints: string[]): void {
    const { manager, activity, log } = this.options;
    const current = manager.get(requester);
    if ((current && !current.info.via) || !this.options.mayDial(requester)) return;
    if (!this.introBudgets.take(broker.peerId)) {
      log.info('relay', 'broker introduction over budget: ignored', { broker: broker.peerId, requester });
      return;
    }
    const candidates = canonicalizeEndpoints(endpoints);
    if (candidates.length === 0) return;
    activity.record(requester, 'broker', `${broker.peerId} asked us to dial`);
    void dialFirst(candidates, (endpoint, signal) => manager.dial(endpoint, requester, { signal }), {
      concurrency: DIAL_CONCURRENCY,
      deadlineMs: DIAL_DEADLINE_MS,
      settledElsewhere: () => Boolean(manager.get(requester) && !manager.get(requester)?.info.via),
    }).then((outcome) => {
      if (outcome.status === 'connected' || outcome.status === 'settled_elsewhere') return;
      activity.record(requester, 'failed', `brokered dial failed (${candidates.length} endpoints tried)`);
      // So the requester tries a relay now rather than wait out its timeout.
      if (broker.isOpen) broker.send({ t: 'broker_dial_failed', requester });
    });
  }

  /** Broker: the target says its dial back failed; tell the requester, once, if we introduced them lately. */
  private passOnDialFailure(target: Link, requesterId: string): void {
    const key = `${requesterId}/${target.peerId}`;
    const until = this.reportable.get(key);
    this.reportable.delete(key);
    const requester = this.options.manager.get(requesterId);
    if (!until || until < Date.now() || !requester) return;
    requester.send({ t: 'broker_result', target: target.peerId, status: 'refused', code: 'dial_failed', reason: 'the peer could not reach your addresses' });
  }
}

