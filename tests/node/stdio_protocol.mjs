// The MCP front end over stdio, as the official TypeScript SDK client sees it
// and as a raw peer sending odd lines sees it. Usage: node stdio_protocol.mjs DAEMON
// The daemon runs with no container engine: tools that need a sandbox answer
// with structured envelopes, and the protocol itself is served in full.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { LATEST_PROTOCOL_VERSION, McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';

const daemon = process.argv[2];
assert.ok(daemon, 'usage: node stdio_protocol.mjs DAEMON');
const daemonArgs = ['--stdio', '--set', 'LOG_LEVEL=debug'];

const TOOLS = {
    create_session: [],
    list_sessions: [],
    close_session: ['session_id'],
    execute_in_session: ['session_id', 'code'],
    list_session_files: ['session_id'],
    read_session_file: ['session_id', 'path'],
    write_session_file: ['session_id', 'path', 'content'],
    export_session_workspace: ['session_id'],
    import_session_workspace: ['session_id', 'archive'],
    install_package: ['session_id', 'package_name'],
    omop_query: ['session_id', 'sql'],
    describe_cdm: [],
    pool_status: [],
};
const READ_ONLY = ['list_sessions', 'list_session_files', 'read_session_file', 'omop_query',
    'export_session_workspace',
    'describe_cdm', 'pool_status'];

let passed = 0;
async function step(name, fn) {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
}

async function sdkScenario() {
    const transport = new StdioClientTransport({ command: daemon, args: daemonArgs, env: process.env,
        stderr: 'pipe' });
    let stderr = '';
    transport.stderr.on('data', (chunk) => { stderr += chunk; });
    const client = new Client({ name: 'omcp-sdk-test', version: '1.0.0' });
    const logs = [];

    await step('sdk: initialize negotiates the newest version', async () => {
        await client.connect(transport);
        assert.equal(LATEST_PROTOCOL_VERSION, '2025-11-25');
        assert.equal(client.getServerVersion().name, 'omcp-rproxy');
        const caps = client.getServerCapabilities();
        assert.ok(caps.tools, 'tools capability');
        assert.ok(caps.logging, 'logging capability');
        assert.ok(client.getInstructions().includes('create_session'));
    });

    await step('sdk: ping', async () => {
        assert.deepEqual(await client.ping(), {});
    });

    await step('sdk: tools/list has every tool with schemas and hints', async () => {
        const { tools, nextCursor } = await client.listTools();
        assert.equal(nextCursor, undefined);
        assert.deepEqual(tools.map((t) => t.name).sort(), Object.keys(TOOLS).sort());
        for (const tool of tools) {
            assert.ok(tool.description.length > 40, `${tool.name} description`);
            assert.equal(tool.inputSchema.type, 'object', `${tool.name} inputSchema`);
            assert.deepEqual(tool.inputSchema.required ?? [], TOOLS[tool.name], `${tool.name} required`);
            for (const arg of TOOLS[tool.name]) {
                assert.ok(tool.inputSchema.properties[arg].description ||
                    tool.inputSchema.properties[arg].type, `${tool.name}.${arg} described`);
            }
            assert.equal(tool.outputSchema.type, 'object', `${tool.name} outputSchema`);
            assert.ok(tool.outputSchema.properties.error, `${tool.name} envelope in outputSchema`);
            assert.equal(tool.annotations.readOnlyHint, READ_ONLY.includes(tool.name), tool.name);
            assert.equal(tool.annotations.openWorldHint, false);
        }
        const exec = tools.find((t) => t.name === 'execute_in_session');
        assert.ok(exec.inputSchema.properties.limits.properties.max_duration_secs);
        const write = tools.find((t) => t.name === 'write_session_file');
        assert.deepEqual(write.inputSchema.properties.encoding.enum, ['text', 'base64']);
        assert.equal(write.annotations.destructiveHint, true);
    });

    await step('sdk: logging/setLevel, then tool failures arrive as log notifications', async () => {
        const { LoggingMessageNotificationSchema } = await import('@modelcontextprotocol/sdk/types.js');
        client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
        await client.setLoggingLevel('warning');
    });

    await step('sdk: with no container engine, tools answer envelopes (outputSchema checked)', async () => {
        const created = await client.callTool({ name: 'create_session', arguments: {} });
        assert.equal(created.isError, true);
        assert.equal(created.structuredContent.success, false);
        assert.equal(created.structuredContent.error.code, 'backend_unavailable');
        assert.equal(created.structuredContent.error.retryable, true);
        assert.match(created.structuredContent.error.message, /engine/);
        assert.deepEqual(JSON.parse(created.content[0].text), created.structuredContent);

        const exec = await client.callTool({ name: 'execute_in_session',
            arguments: { session_id: 's', code: 'print(1)' } });
        assert.equal(exec.isError, true);
        assert.equal(exec.structuredContent.error.code, 'session_not_found');

        const status = await client.callTool({ name: 'pool_status', arguments: {} });
        assert.equal(status.isError, false);
        assert.equal(status.structuredContent.success, true);
        assert.equal(status.structuredContent.engine_up, false);
        assert.equal(status.structuredContent.sessions_total, 0);
        assert.ok(logs.some((l) => l.level === 'warning' && l.data.code === 'backend_unavailable'));
    });

    await step('sdk: argument errors are isError envelopes with the reference codes', async () => {
        const cases = [
            ['read_session_file', { session_id: 's', path: '../../etc/passwd' }, 'invalid_path'],
            ['execute_in_session', { session_id: 's', code: ' ' }, 'invalid_code'],
            ['execute_in_session', { session_id: 's', code: '1', limits: { max_duration_secs: -1 } },
                'invalid_limits'],
            ['close_session', {}, 'invalid_arguments'],
            ['install_package', { session_id: 's', package_name: 'x', source: 'pypi' }, 'invalid_source'],
        ];
        for (const [name, args, code] of cases) {
            const result = await client.callTool({ name, arguments: args });
            assert.equal(result.isError, true);
            assert.equal(result.structuredContent.error.code, code, `${name} ${JSON.stringify(args)}`);
        }
    });

    await step('sdk: unknown tool and unknown method are JSON-RPC errors', async () => {
        await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }),
            (e) => e instanceof McpError && e.code === ErrorCode.InvalidParams);
        await assert.rejects(client.listResources(),
            (e) => e instanceof McpError && e.code === ErrorCode.MethodNotFound);
        assert.deepEqual(await client.ping(), {});
    });

    await step('sdk: close ends the daemon cleanly; logs only on stderr', async () => {
        await client.close();
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.match(stderr, /msg="mcp initialize"/);
        assert.match(stderr, /front_end=stdio msg="client gone"/);
    });
}

// A raw peer: one daemon, lines in, lines out.
function rawPeer() {
    const child = spawn(daemon, daemonArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = [];
    const waiters = [];
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    createInterface({ input: child.stdout }).on('line', (line) => {
        const msg = JSON.parse(line); // every line must be JSON
        if (waiters.length) waiters.shift()(msg); else lines.push(msg);
    });
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    return {
        send(text) { child.stdin.write(text + '\n'); },
        next() {
            if (lines.length) return Promise.resolve(lines.shift());
            return new Promise((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
                waiters.push((m) => { clearTimeout(timer); resolve(m); });
            });
        },
        async request(obj) { this.send(JSON.stringify(obj)); return this.next(); },
        end() { child.stdin.end(); return exited; },
        stderr: () => stderr,
    };
}

const init = (id, version) => ({ jsonrpc: '2.0', id, method: 'initialize',
    params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

async function rawScenario() {
    await step('raw: version negotiation for each version and an unknown one', async () => {
        for (const [asked, answered] of [['2025-11-25', '2025-11-25'], ['2025-06-18', '2025-06-18'],
            ['2025-03-26', '2025-03-26'], ['2024-11-05', '2024-11-05'], ['2023-01-01', '2025-11-25']]) {
            const peer = rawPeer();
            const reply = await peer.request(init(1, asked));
            assert.equal(reply.result.protocolVersion, answered, asked);
            assert.equal(await peer.end(), 0);
        }
    });

    const peer = rawPeer();
    await step('raw: requests before initialize are refused, ping is not', async () => {
        const early = await peer.request({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
        assert.equal(early.error.code, -32600);
        assert.equal(early.id, 1);
        assert.deepEqual((await peer.request({ jsonrpc: '2.0', id: 2, method: 'ping' })).result, {});
        assert.equal((await peer.request(init(3, '2024-11-05'))).result.protocolVersion, '2024-11-05');
        peer.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    });

    await step('raw: malformed line, bad request and unknown method; the server keeps going', async () => {
        peer.send('{"jsonrpc": "2.0", "id": 4, "method": "ping"');
        let reply = await peer.next();
        assert.equal(reply.error.code, -32700);
        assert.equal(reply.id, null);
        reply = await peer.request({ jsonrpc: '2.0', id: null, method: 'ping' });
        assert.equal(reply.error.code, -32600);
        reply = await peer.request({ jsonrpc: '1.0', id: 5, method: 'ping' });
        assert.equal(reply.error.code, -32600);
        assert.equal(reply.id, 5);
        reply = await peer.request({ jsonrpc: '2.0', id: 6, method: 'sampling/nothing' });
        assert.equal(reply.error.code, -32601);
        reply = await peer.request({ jsonrpc: '2.0', id: 7, method: 'logging/setLevel', params: { level: 'x' } });
        assert.equal(reply.error.code, -32602);
        reply = await peer.request({ jsonrpc: '2.0', id: 8, method: 'ping' });
        assert.deepEqual(reply.result, {});
    });

    await step('raw: 2024-11-05 gets the JSON in the text, no structuredContent or annotations', async () => {
        const list = await peer.request({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
        assert.equal(list.result.tools.length, 13);
        assert.equal(list.result.tools[0].annotations, undefined);
        const call = await peer.request({ jsonrpc: '2.0', id: 10, method: 'tools/call',
            params: { name: 'list_sessions', arguments: {} } });
        assert.equal(call.result.isError, false);
        assert.equal(call.result.structuredContent, undefined);
        assert.deepEqual(JSON.parse(call.result.content[0].text),
            { success: true, count: 0, sessions: [] });
    });

    await step('raw: a batch is refused outside 2025-03-26', async () => {
        const reply = await peer.request([{ jsonrpc: '2.0', id: 11, method: 'ping' }]);
        assert.equal(reply.error.code, -32600);
    });

    await step('raw: an oversized line is answered and skipped up to the newline', async () => {
        peer.send('{"jsonrpc":"2.0","id":12,"method":"ping","pad":"' + 'x'.repeat(8 << 20) + '"}');
        const reply = await peer.next();
        assert.equal(reply.error.code, -32600);
        assert.match(reply.error.message, /exceeds the limit/);
        assert.deepEqual((await peer.request({ jsonrpc: '2.0', id: 13, method: 'ping' })).result, {});
    });

    await step('raw: end of input exits with status 0', async () => {
        assert.equal(await peer.end(), 0);
        assert.match(peer.stderr(), /reason="stdio client gone"/);
    });

    const batchPeer = rawPeer();
    await step('raw: 2025-03-26 answers a batch with an array', async () => {
        await batchPeer.request(init(1, '2025-03-26'));
        const reply = await batchPeer.request([
            { jsonrpc: '2.0', id: 2, method: 'ping' },
            { jsonrpc: '2.0', method: 'notifications/initialized' },
            { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'describe_cdm' } },
            { jsonrpc: '2.0', id: 4, method: 'nope' },
        ]);
        assert.ok(Array.isArray(reply));
        assert.deepEqual(reply.map((r) => r.id).sort(), [2, 3, 4]);
        assert.equal(reply.find((r) => r.id === 4).error.code, -32601);
        assert.equal(await batchPeer.end(), 0);
    });
}

try {
    await sdkScenario();
    await rawScenario();
    console.log(`${passed} steps passed`);
} catch (err) {
    console.error(`FAIL after ${passed} steps:`, err);
    process.exit(1);
}
