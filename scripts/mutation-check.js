#!/usr/bin/env node
// Proves that each security claim in README's "How it is secured" has a test that notices when the
// check behind it is removed. In a throwaway git worktree of HEAD (never in your checkout) it first
// runs the named tests unchanged (they must pass), then applies one mutation at a time — a small
// text replacement that removes a check — runs the test named for it, expects it to FAIL, and
// restores the file. A mutation whose text is no longer found is reported as stale (update it).
//
//   node scripts/mutation-check.js                 # every mutation
//   node scripts/mutation-check.js binding sealed  # only these
//
// Exit status 0 only when every selected mutation was caught. Takes a few minutes (each run starts
// real companions); run it alone, not next to the full test suite.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PROPERTIES = 'tests/integration/security-properties.test.ts';
const PERMISSIONS = 'tests/integration/security-permissions.test.ts';
const ABUSE = 'tests/integration/mesh-abuse.test.ts';
const LINKS = 'tests/integration/link-manager.test.ts';
const CONSENT = 'tests/integration/consent.test.ts';
const STORE_EVENTS = 'tests/unit/companion/store-events.test.ts';
const RELAY_LIMITS = 'tests/integration/relay-limits.test.ts';
const RELAY_POLICIES = 'tests/integration/relay-policies.test.ts';

/** name → the check removed, and the test that must then fail. */
const MUTATIONS = [
  {
    name: 'binding',
    file: 'companion/mesh/handshake.ts',
    find: 'if (!verifyBinding(crypto, ed25519PublicKey, remoteStatic, b64urlDecode(payload.binding))) {',
    replace: 'if (false) {',
    test: [PROPERTIES, 'binding'],
  },
  {
    name: 'expected-peer-id',
    file: 'companion/mesh/handshake.ts',
    find: 'if (expectedPeerId && payload.peer_id !== expectedPeerId) {',
    replace: 'if (false) {',
    test: [ABUSE, 'endpoint answers as a different peer'],
  },
  {
    name: 'expected-peer-id-dial',
    file: 'companion/mesh/handshake.ts',
    find: 'if (expectedPeerId && payload.peer_id !== expectedPeerId) {',
    replace: 'if (false) {',
    test: [LINKS, 'different peer ID than expected'],
  },
  {
    name: 'dm-entitlement',
    file: 'companion/mesh/sync.ts',
    find: "return (channel) => !isDmChannel(channel) || channel.split(':').includes(peerId);",
    replace: 'return () => true;',
    test: [PROPERTIES, 'none of A–B'],
  },
  {
    name: 'dm-forwarding',
    file: 'companion/mesh/sync.ts',
    find: "const posts = events.filter((e) => e.event.kind === 'post' && !isDmChannel(e.event.channel));",
    replace: 'const posts = events;',
    test: [PROPERTIES, 'none of A–B'],
  },
  {
    name: 'sealed-dms',
    file: 'protocol/seal.ts',
    find: 'return concatBytes(ephemeral.publicKey, crypto.aeadEncrypt(key, ZERO_NONCE, plaintext, aad));',
    replace: 'return concatBytes(ephemeral.publicKey, plaintext, new Uint8Array(16));',
    test: [PROPERTIES, 'sealed, live and in catch-up'],
  },
  {
    name: 'at-rest',
    file: 'companion/store/at-rest.ts',
    find: 'const sealed = nodeCrypto.aeadEncrypt(this.#key, nonce, utf8(text), aad(context));',
    replace: 'const sealed = Buffer.concat([utf8(text), new Uint8Array(16)]);',
    test: [STORE_EVENTS, 'does not store bodies in clear'],
  },
  {
    name: 'consent-stranger',
    file: 'companion/mesh/consent.ts',
    find: "    this.emit('changed');\n    return 'pending';",
    replace: "    return 'trusted';",
    test: [CONSENT, 'gets a pending request and nothing else'],
  },
  {
    name: 'invite-proof',
    file: 'companion/mesh/consent.ts',
    find: 'return verifyInviteProof(crypto, secret, link.info.remote.x25519PublicKey, identity.x25519.publicKey, bytes);',
    replace: 'return bytes.length > 0;',
    test: [CONSENT, 'revokes the old secret'],
  },
  {
    name: 'route-permission',
    file: 'companion/api/routes/messages.ts',
    find: "router.get('/messages', read, (ctx) => {",
    replace: "router.get('/messages', (ctx) => {",
    test: [PERMISSIONS, '401 without a key'],
  },
  {
    name: 'permission-check',
    file: 'companion/api/auth.ts',
    find: 'if (!record || !record.permissions.includes(permission)) {',
    replace: 'if (!record) {',
    test: [PERMISSIONS, '401 without a key'],
  },
  {
    name: 'info-diagnostics',
    file: 'companion/api/routes/system.ts',
    find: "if (!key?.permissions.includes('view_peers')) {",
    replace: 'if (!key) {',
    test: [PERMISSIONS, 'diagnostics behind view_peers'],
  },
  {
    name: 'replay-nonce',
    file: 'protocol/noise/cipher-state.ts',
    find: '    this.#nonce++;\n    return plaintext;',
    replace: '    return plaintext;',
    test: [ABUSE, 'tampered or replayed transport frame'],
  },
  {
    name: 'replay-closes-link',
    file: 'companion/transport/secure-channel.ts',
    find: 'this.close(CloseCode.decryptFailed, `decryption failed: ${(error as Error).message}`);',
    replace: '',
    test: [ABUSE, 'tampered or replayed transport frame'],
  },
  {
    name: 'replay-handshake-mesh',
    file: 'protocol/noise/handshake.ts',
    find: "this.#ephemeral ??= generateKeyPair(this.#crypto, 'x25519');",
    replace: "this.#ephemeral ??= ((globalThis as any).reusedEphemeral ??= generateKeyPair(this.#crypto, 'x25519'));",
    test: [ABUSE, 'refuses a replayed handshake'],
  },
  {
    name: 'replay-handshake-app',
    file: 'protocol/noise/handshake.ts',
    find: "this.#ephemeral ??= generateKeyPair(this.#crypto, 'x25519');",
    replace: "this.#ephemeral ??= ((globalThis as any).reusedEphemeral ??= generateKeyPair(this.#crypto, 'x25519'));",
    test: [PROPERTIES, 'replayed browser handshake'],
  },
  {
    name: 'relay-policy',
    file: 'companion/mesh/relay-circuits.ts',
    find: "if (this.options.policy() !== 'full_relay') return refuse(",
    replace: 'if (false) return refuse(',
    test: [RELAY_POLICIES, 'broker_only'],
  },
  {
    name: 'relay-open-rate',
    file: 'companion/mesh/relay-circuits.ts',
    find: 'if (!this.opens.take(link.peerId)) return refuse(',
    replace: 'if (false) return refuse(',
    test: [RELAY_LIMITS, 'flood of circuit requests'],
  },
  {
    name: 'relay-circuits-per-peer',
    file: 'companion/mesh/relay-circuits.ts',
    find: 'if (this.countWith(link.peerId) >= this.limits.maxCircuitsPerPeer || this.countWith(target.peerId) >= this.limits.maxCircuitsPerPeer) {',
    replace: 'if (false) {',
    test: [RELAY_LIMITS, 'flood of circuit requests'],
  },
  {
    name: 'relay-data-rate',
    file: 'companion/mesh/relay-circuits.ts',
    find: 'if (!leg.bytes.take(bytes) || !leg.frames.take()) return this.close(',
    replace: 'if (false) return this.close(',
    test: [RELAY_LIMITS, 'faster than the relay allows'],
  },
];

const run = (command, args, cwd) => spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs one named test; counts come from Vitest's JSON report, so "no test matched" is not a failure. */
function runTest(cwd, [file, name]) {
  const report = join(cwd, 'mutation-report.json');
  writeFileSync(report, '{}');
  const result = run('npx', ['vitest', 'run', file, '-t', escapeRegExp(name), '--reporter=json', `--outputFile=${report}`], cwd);
  const { numPassedTests = 0, numFailedTests = 0 } = JSON.parse(readFileSync(report, 'utf8'));
  return { passed: numPassedTests, failed: numFailedTests, output: `${result.stdout}${result.stderr}` };
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !MUTATIONS.some((m) => m.name === name));
if (unknown.length) {
  console.error(`Unknown mutation(s): ${unknown.join(', ')}. Known: ${MUTATIONS.map((m) => m.name).join(', ')}`);
  process.exit(2);
}
const selected = wanted.length ? MUTATIONS.filter((m) => wanted.includes(m.name)) : MUTATIONS;

const worktree = mkdtempSync(join(tmpdir(), 'canopy-mutants-'));
const added = run('git', ['worktree', 'add', '--detach', worktree, 'HEAD'], ROOT);
if (added.status !== 0) {
  console.error(`git worktree add failed:\n${added.stderr}`);
  process.exit(2);
}
/** Baseline first, then each mutation in turn; returns the number of mutations not caught. */
function checkMutations() {
  symlinkSync(join(ROOT, 'node_modules'), join(worktree, 'node_modules'));
  run('npx', ['svelte-kit', 'sync'], worktree); // the tsconfig Vitest reads extends .svelte-kit's
  // Companions build the web app on start when it is stale, which would eat their start-up
  // deadline; no test here uses it, so your checkout's build is borrowed (or one is made once).
  // Mutated files keep their mtime below, so no mutation triggers a rebuild either.
  if (existsSync(join(ROOT, 'build', 'index.html'))) cpSync(join(ROOT, 'build'), join(worktree, 'build'), { recursive: true });
  const build = run(process.execPath, ['scripts/ensure-build.js'], worktree);
  if (build.status !== 0) {
    console.error(`Building the web app in the worktree failed:\n${build.stdout}${build.stderr}`);
    return selected.length;
  }

  const baselines = new Map(selected.map((m) => [m.test.join(' › '), m.test]));
  for (const [label, test] of baselines) {
    const baseline = runTest(worktree, test);
    if (baseline.passed === 0 || baseline.failed > 0) {
      console.error(`Unmutated, ${label} should pass at HEAD (passed ${baseline.passed}, failed ${baseline.failed}):\n${baseline.output.slice(-3000)}`);
      return selected.length;
    }
  }
  console.log(`baseline: the ${baselines.size} named tests pass at HEAD`);

  let failures = 0;
  for (const mutation of selected) {
    const path = join(worktree, mutation.file);
    const original = readFileSync(path, 'utf8');
    const { atime, mtime } = statSync(path);
    const write = (text) => {
      writeFileSync(path, text);
      utimesSync(path, atime, mtime);
    };
    const [file, name] = mutation.test;
    if (original.split(mutation.find).length !== 2) {
      failures++;
      console.log(`STALE    ${mutation.name}: its text is not found exactly once in ${mutation.file}; update the mutation`);
      continue;
    }
    write(original.replace(mutation.find, () => mutation.replace));
    try {
      const result = runTest(worktree, mutation.test);
      if (result.failed === 0) {
        failures++;
        console.log(`SURVIVED ${mutation.name}: ${file} › "${name}" still passes without the check in ${mutation.file}`);
      } else {
        console.log(`caught   ${mutation.name}: ${file} › "${name}" fails without the check in ${mutation.file}`);
      }
    } finally {
      write(original);
    }
  }
  return failures;
}

let failures;
try {
  failures = checkMutations();
} finally {
  run('git', ['worktree', 'remove', '--force', worktree], ROOT);
}
console.log(failures ? `${failures} mutation(s) not caught` : 'every mutation was caught');
process.exit(failures ? 1 : 0);
