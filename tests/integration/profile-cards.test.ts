// Profile cards signed by their owner, across the mesh (issue 7, deliverable 3): a line A–B–C where
// A learns C's names and avatars through B, verified; changes follow; a relay cannot forge, alter or
// roll back a card; a flood of made-up identities is bounded; cards survive a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../companion/crypto/node.ts';
import { CARD_LIMITS } from '../../companion/mesh/profile-cards.ts';
import { b64urlEncode } from '../../protocol/bytes.ts';
import { decodeFrame, encodeFrame, type DecodeFrameResult, type Frame } from '../../protocol/frames.ts';
import { generateIdentity, type Identity } from '../../protocol/identity.ts';
import {
  MAX_CARD_AVATAR_CHARS,
  profileCardSigningBytes,
  signProfileCard,
  verifyProfileCard,
  type ProfileCardContent,
  type SignedProfileCard,
} from '../../protocol/mesh/profile-card.ts';
import { apiClient, createKey, eventually, type ApiClient } from '../helpers/api.ts';
import { connectApp, setUpAccount, type AppClient } from '../helpers/app-client.ts';
import { startInstance, type Instance } from '../helpers/instance.ts';
import { rawHandshake } from '../helpers/raw-peer.ts';

let a: Instance;
let b: Instance;
let c: Instance;
let apiA: ApiClient;
let apiB: ApiClient;
let apiC: ApiClient;
let appC: AppClient;
let peerB: string;
let peerC: string;
/** C's card as first signed (username only), kept to replay later. */
let firstCardOfC: SignedProfileCard;

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');
const JPEG = Buffer.from('ffd8ffe000104a464946', 'hex').toString('base64');
const CONTENT: ProfileCardContent = { display_name: '', bio: '', avatar: null, device: { name: '', description: '', avatar: null } };

type Decoded = Extract<DecodeFrameResult, { ok: true }>['frame'];

/**
 * A scripted peer trusted by `api`'s instance (it proves the invite), dialling from another
 * loopback address. It answers `card_request` from `offered` and collects the cards it receives.
 */
async function hostilePeer(instance: Instance, api: ApiClient, from: string, identity: Identity = generateIdentity(nodeCrypto)) {
  const invite = (await api.get('/p2p/invite')).body.invite_code as string;
  const connection = await rawHandshake(`ws://127.0.0.1:${instance.meshPort}/p2p`, identity, { inviteCode: invite, from });
  const { transport } = connection;
  let open = true;
  void connection.closed.then(() => (open = false));
  const offered = new Map<string, SignedProfileCard>();
  const received = new Map<string, SignedProfileCard>();
  const send = (frame: Frame) => connection.ws.send(transport.seal(encodeFrame(frame)));
  const sendRaw = (value: unknown) => connection.ws.send(transport.seal(Buffer.from(JSON.stringify(value))));
  void (async () => {
    while (open) {
      const decoded = decodeFrame(transport.open(await connection.next()));
      if (!decoded.ok) throw new Error(`undecodable frame from the companion: ${decoded.error}`);
      const frame: Decoded = decoded.frame;
      if (frame.t === 'card' && frame.check.ok) received.set(frame.check.signed.card.peer_id, frame.check.signed);
      if (frame.t === 'card_request') {
        for (const peerId of frame.peer_ids) {
          const card = offered.get(peerId);
          if (card) send({ t: 'card', card });
        }
      }
    }
  })().catch(() => {});
  return {
    identity,
    send,
    sendRaw,
    offered,
    received,
    isOpen: () => open,
    close: () => connection.ws.close(),
    /** The card `peerId` as the companion serves it, asked for with `card_request`. */
    async fetch(peerId: string, newerThan = -1): Promise<SignedProfileCard> {
      received.delete(peerId);
      send({ t: 'card_request', peer_ids: [peerId] });
      return eventually(`card of ${peerId} from the companion`, async () => {
        const card = received.get(peerId);
        return card && card.card.updated_at > newerThan && card;
      });
    },
  };
}

async function link(inviter: ApiClient, importer: ApiClient): Promise<void> {
  const invite = await inviter.get('/p2p/invite');
  expect((await importer.post('/p2p/invite/import', { invite_code: invite.body.invite_code })).body.status).toBe('connected');
}

const profileOn = async (api: ApiClient, peerId: string) => {
  const answer = await api.get(`/profiles/${peerId}`);
  return answer.status === 200 ? answer.body : undefined;
};

beforeAll(async () => {
  [a, b, c] = await Promise.all([startInstance(), startInstance(), startInstance()]);
  const clients = await Promise.all([a, b, c].map(async (node) => apiClient(node.url, await createKey(node.dataDir))));
  [apiA, apiB, apiC] = clients as [ApiClient, ApiClient, ApiClient];
  peerB = (await apiB.get('/p2p/status')).body.peer_id;
  peerC = (await apiC.get('/p2p/status')).body.peer_id;
  appC = await connectApp(c.url);
  expect((await setUpAccount(appC, c.dataDir, 'carol', 'a long password')).ok).toBe(true);
  expect((await apiB.post('/profile', { display_name: 'Bob' })).status).toBe(200);
  // A line: A – B – C; A has no link to C.
  await link(apiB, apiA);
  await link(apiB, apiC);
}, 120_000);

afterAll(async () => {
  appC?.close();
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
});

describe('profile cards across the mesh', () => {
  it("shows C's username on A, through B, before C sets a display name", async () => {
    const card = await eventually("C's card on A", async () => profileOn(apiA, peerC), 60_000);
    expect(card).toMatchObject({ peer_id: peerC, display_name: 'carol', avatar: null });
    expect((await apiA.get('/p2p/peers')).body.connected_peers).not.toContain(peerC);
    const spy = await hostilePeer(a, apiA, '127.0.0.2');
    firstCardOfC = await spy.fetch(peerC);
    expect(firstCardOfC.card.display_name).toBe('carol');
    spy.close();
  }, 90_000);

  it("carries C's display name, bio, avatar and device profile to A, verified", async () => {
    const avatar = `data:image/png;base64,${PNG}`;
    const user = await appC.call('profile.set_user', { display_name: 'Carol', bio: 'plants and packets', avatar });
    expect(user.ok).toBe(true);
    expect((await apiC.post('/device/profile', { display_name: 'Carol laptop', description: 'the grey one', avatar_b64: JPEG, avatar_mime: 'image/jpeg' })).status).toBe(200);
    const expected = {
      peer_id: peerC,
      display_name: 'Carol',
      bio: 'plants and packets',
      avatar,
      device_name: 'Carol laptop',
      device_description: 'the grey one',
      device_avatar: `data:image/jpeg;base64,${JPEG}`,
    };
    const card = await eventually('the whole profile on A', async () => {
      const held = await profileOn(apiA, peerC);
      return held?.device_avatar && held.display_name === 'Carol' && held;
    }, 60_000);
    expect(card).toMatchObject(expected);
    const listed = (await apiA.get('/profiles')).body.profiles as Array<Record<string, unknown>>;
    expect(listed.find((p) => p.peer_id === peerC)).toEqual({
      peer_id: peerC,
      display_name: 'Carol',
      bio: 'plants and packets',
      device_name: 'Carol laptop',
      device_description: 'the grey one',
      has_avatar: true,
      has_device_avatar: true,
      updated_at: card.updated_at,
    });
    // What A holds is C's own signed card: anyone can check it.
    const spy = await hostilePeer(a, apiA, '127.0.0.2');
    const signed = await spy.fetch(peerC, firstCardOfC.card.updated_at);
    expect(verifyProfileCard(nodeCrypto, signed).ok).toBe(true);
    expect(signed.card).toMatchObject({ peer_id: peerC, display_name: 'Carol', avatar });
    spy.close();
    // B links with C: its peer list names C from the card.
    const known = (await apiB.get('/p2p/peers')).body.known_peers as Array<{ peer_id: string; display_name: string }>;
    expect(known.find((p) => p.peer_id === peerC)?.display_name).toBe('Carol');
  }, 90_000);

  it('brings a change made moments later (coalesced by the relay, not lost)', async () => {
    expect((await appC.call('profile.set_user', { display_name: 'Carol R.' })).ok).toBe(true);
    const card = await eventually('the new name on A', async () => {
      const held = await profileOn(apiA, peerC);
      return held?.display_name === 'Carol R.' && held;
    }, 60_000);
    expect(card.bio).toBe('plants and packets');
  }, 90_000);

  it('lets no relay forge, alter, replay or oversize a card', async () => {
    const before = { b: await profileOn(apiA, peerB), c: await profileOn(apiA, peerC) };
    expect(before.b?.display_name).toBe('Bob');
    const hostile = await hostilePeer(a, apiA, '127.0.0.3');
    const current = await hostile.fetch(peerC, firstCardOfC.card.updated_at);

    // C's real card with a field changed (and a higher version, so it would win if accepted).
    hostile.send({ t: 'card', card: { ...current, card: { ...current.card, display_name: 'Mallory', updated_at: current.card.updated_at + 1 } } });
    // A card claiming B's peer ID, signed with the hostile peer's own key.
    const forged = { ...signProfileCard(nodeCrypto, hostile.identity, { ...CONTENT, display_name: 'Not Bob' }, Date.now() + 60_000).card, peer_id: peerB };
    hostile.send({ t: 'card', card: { card: forged, sig: b64urlEncode(nodeCrypto.ed25519Sign(profileCardSigningBytes(forged), hostile.identity.ed25519.secretKey)) } });
    // C's older card, replayed.
    hostile.send({ t: 'card', card: firstCardOfC });
    // A card over the avatar limit, validly signed by its (made-up) owner: only the size is wrong.
    const big = `data:image/png;base64,${'A'.repeat(MAX_CARD_AVATAR_CHARS)}`;
    const oversize = signProfileCard(nodeCrypto, generateIdentity(nodeCrypto), { ...CONTENT, display_name: 'huge', avatar: big }, Date.now());
    hostile.sendRaw({ t: 'card', card: oversize });
    // Last, a valid card of its own: once it is held, everything sent before it was handled.
    hostile.send({ t: 'card', card: signProfileCard(nodeCrypto, hostile.identity, { ...CONTENT, display_name: 'Honest Hal' }, Date.now()) });
    await eventually("the hostile peer's own card", async () => (await profileOn(apiA, hostile.identity.peerId))?.display_name === 'Honest Hal');

    expect((await apiA.get(`/profiles/${oversize.card.peer_id}`)).status).toBe(404);
    expect(await profileOn(apiA, peerC)).toEqual(before.c);
    expect(await profileOn(apiA, peerB)).toEqual(before.b);
    // Passed on to B? Neither the forgeries nor anything else changed what B holds of C.
    expect((await profileOn(apiB, peerC))?.display_name).toBe('Carol R.');
    // Bad cards cost only themselves: the link stays up.
    expect(hostile.isOpen()).toBe(true);
    hostile.close();
  }, 90_000);

  it('bounds a flood of cards of made-up identities, keeping the cards of known peers', async () => {
    const flooder = await hostilePeer(a, apiA, '127.0.0.4');
    const count = CARD_LIMITS.maxHeld + 100;
    const cards: SignedProfileCard[] = [];
    for (let i = 0; i < count; i++) {
      const card = signProfileCard(nodeCrypto, generateIdentity(nodeCrypto), { ...CONTENT, display_name: `nobody ${i}` }, Date.now());
      flooder.offered.set(card.card.peer_id, card);
      cards.push(card);
    }
    for (const card of cards) flooder.send({ t: 'card', card });
    // A verifies at its per-link rate and asks the flooder again for what it could not check yet.
    const held = await eventually(
      'the card store to fill up',
      async () => {
        const list = (await apiA.get('/profiles')).body.profiles as Array<{ peer_id: string }>;
        return list.length >= CARD_LIMITS.maxHeld && list;
      },
      90_000,
    );
    expect(held.length).toBe(CARD_LIMITS.maxHeld);
    expect((await profileOn(apiA, peerC))?.display_name).toBe('Carol R.');
    expect((await profileOn(apiA, peerB))?.display_name).toBe('Bob');
    // A peer linked with A still gets in: its card takes the place of a made-up one.
    const late = await hostilePeer(a, apiA, '127.0.0.5');
    late.send({ t: 'card', card: signProfileCard(nodeCrypto, late.identity, { ...CONTENT, display_name: 'Late Lou' }, Date.now()) });
    await eventually("a linked peer's card in a full store", async () => (await profileOn(apiA, late.identity.peerId))?.display_name === 'Late Lou');
    expect(((await apiA.get('/profiles')).body.profiles as unknown[]).length).toBe(CARD_LIMITS.maxHeld);
    flooder.close();
    late.close();
  }, 180_000);

  it('keeps the cards it holds across a restart', async () => {
    // B down first, so A, once restarted, has no link that could bring the card back.
    await b.stop({ keepData: true });
    await a.stop({ keepData: true });
    a = await startInstance({ dataDir: a.dataDir, port: a.port });
    apiA = apiClient(a.url, await createKey(a.dataDir));
    expect((await apiA.get('/p2p/peers')).body.connected_peers).toEqual([]);
    expect(await profileOn(apiA, peerC)).toMatchObject({ display_name: 'Carol R.', device_name: 'Carol laptop', bio: 'plants and packets' });
  }, 90_000);
});
