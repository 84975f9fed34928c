// README "Agent quickstart" (issue 11, item 5): the shell block is run as written — only its two
// `export` lines get this test's instance — and every step is checked by what it printed: the key,
// the OpenAPI document, the live stream (ready, then the post), the send, the read, the catch-up.
// The MCP client configuration README gives is started as written too (its placeholder paths
// filled in), from another directory as MCP clients do, and answers over the SDK's own client.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startInstance, type Instance } from '../helpers/instance.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

const URL_LINE = 'export CANOPY=http://localhost:7770    # the instance `npm start` runs';
const DATA_LINE = 'export CANOPY_DATA=./data              # and its --data-dir';

/** The fenced block of `language` right after `<!-- marker -->` in README. */
function readmeBlock(marker: string, language: string): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const match = new RegExp(`<!-- ${marker} -->\\n\`\`\`${language}\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!match) throw new Error(`README has no ${language} block after <!-- ${marker} -->`);
  return match[1]!;
}

let instance: Instance;
beforeAll(async () => {
  instance = await startInstance({ env: { CANOPY_DISCOVERY: 'off' } });
}, 60_000);
afterAll(async () => instance?.stop());

it('runs the README agent quickstart as written against a real companion', async () => {
  const block = readmeBlock('agent-quickstart', 'sh');
  expect(block.split('\n').slice(0, 2), 'the block starts by naming the instance').toEqual([URL_LINE, DATA_LINE]);
  const script = block
    .replace(URL_LINE, `export CANOPY=${instance.url}`)
    .replace(DATA_LINE, `export CANOPY_DATA=${JSON.stringify(instance.dataDir)}`);
  // No -e: step 6 ends by its --max-time on purpose; each step is judged by its output below.
  const { stdout } = await run('bash', ['-c', `${script}\necho "KEY=$CANOPY_API_KEY"`], { cwd: ROOT, timeout: 60_000 });

  const key = /^KEY=(\S+)$/m.exec(stdout)?.[1];
  expect(key, stdout).toMatch(/^cnp_/);
  expect(stdout).toMatch(/"openapi":"3\.1\.\d+"/);
  expect(stdout).toMatch(/"success":true,"message_id":"[0-9a-f]{64}"/);
  const messageId = /"message_id":"([0-9a-f]{64})"/.exec(stdout)![1]!;
  // The read: the channel page lists the message.
  expect(stdout).toContain(`"messages":[{"id":"${messageId}","channel_id":"general"`);
  // The live stream printed ready, then the post; the catch-up printed the post again, then ready.
  // Not anchored to a line start: the background stream's lines may land right after a curl's answer.
  const events = [...stdout.matchAll(/event:(\w+)\nid:([\d.]+)\ndata:(.*)$/gm)].map(([, event, id, data]) => ({ event, id, data }));
  const posts = events.filter((e) => e.event === 'post' && e.data!.includes(messageId));
  expect(posts, stdout).toHaveLength(2);
  expect(events.map((e) => e.event)).toEqual(['ready', 'post', 'post', 'ready']);
  expect(posts[0]!.data).toContain('"content":"hello from an agent"');

  // The key has exactly the permissions the quickstart asked for.
  const listed = await run(process.execPath, ['bin/canopy.js', 'keys', 'list', '--data-dir', instance.dataDir], { cwd: ROOT });
  const minted = JSON.parse(listed.stdout).keys.find((k: { name: string }) => k.name === 'my-agent');
  expect(minted.permissions).toEqual(['read_messages', 'write_messages', 'view_peers']);
}, 90_000);

it('starts the MCP server with the client configuration README gives', async () => {
  const config = JSON.parse(
    readmeBlock('mcp-config', 'json')
      .replaceAll('/path/to/canopy/data', instance.dataDir)
      .replaceAll('/path/to/canopy', ROOT.replace(/\/$/, '')),
  ) as { mcpServers: { canopy: { command: string; args: string[] } } };
  const { command, args } = config.mcpServers.canopy;
  const transport = new StdioClientTransport({ command, args, cwd: tmpdir(), stderr: 'pipe' });
  const client = new Client({ name: 'readme-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toEqual(expect.arrayContaining(['send_post', 'send_dm', 'read_channel', 'read_conversation', 'wait_for_message']));
    const channels = await client.callTool({ name: 'list_channels', arguments: {} });
    expect(channels.isError).toBeFalsy();
    expect(JSON.stringify(channels.content)).toContain('general');
  } finally {
    await client.close();
  }
}, 90_000);
