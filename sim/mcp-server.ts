/**
 * Small MCP servers for the local stack and the tests, built with the official SDK
 * (@modelcontextprotocol/sdk McpServer over its StreamableHTTPServerTransport), offline. Stateful —
 * one transport per session, by `Mcp-Session-Id` — with an event store, so their GET streams can be
 * resumed with `Last-Event-ID` as the spec's § Resumability and Redelivery describes.
 *
 * Two flavours: "weather" (forecast, a tool that asks the client's model through sampling, one that
 * reports progress, a resource) and "notes" (add/list notes, one that asks the user to confirm through
 * elicitation, a prompt, a resource per note). Both have `announce`, which
 * sends a log notification outside any request, i.e. on the session's GET stream.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type EventStore,
  StreamableHTTPServerTransport,
} from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { type AnyManifest, SIMULATED_ANNOTATION } from '../config/manifests.ts';

export type DemoFlavour = 'weather' | 'notes';

/** Events in memory per stream, ids `<stream>#<sequence>` so a replay knows its stream and position. */
export class MemoryEventStore implements EventStore {
  private readonly streams = new Map<string, { id: string; message: JSONRPCMessage }[]>();
  private sequence = 0;

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = `${streamId}#${++this.sequence}`;
    const list = this.streams.get(streamId) ?? [];
    list.push({ id, message });
    // Bounded: a client away for long loses the oldest, as any replay buffer would.
    if (list.length > 1000) list.shift();
    this.streams.set(streamId, list);
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    const at = eventId.lastIndexOf('#');
    return at > 0 ? eventId.slice(0, at) : undefined;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    const streamId = (await this.getStreamIdForEventId(lastEventId)) ?? '';
    const list = this.streams.get(streamId) ?? [];
    const after = Number(lastEventId.slice(lastEventId.lastIndexOf('#') + 1));
    for (const event of list)
      if (Number(event.id.slice(event.id.lastIndexOf('#') + 1)) > after) await send(event.id, event.message);
    return streamId;
  }
}

function buildServer(flavour: DemoFlavour): McpServer {
  const server = new McpServer(
    { name: `demo-${flavour}`, version: '1.0.0' },
    {
      capabilities: { logging: {} },
      instructions: `Demo ${flavour} server of the agent-router local stack.`,
    },
  );
  server.registerTool(
    'announce',
    {
      description: 'Sends a log notification on the session stream, outside this request.',
      inputSchema: { message: z.string() },
    },
    async ({ message }) => {
      // No relatedRequestId: the transport puts it on the session's GET stream.
      await server.server.notification({
        method: 'notifications/message',
        params: { level: 'info', logger: flavour, data: message },
      });
      return { content: [{ type: 'text', text: `announced by ${flavour}` }] };
    },
  );
  if (flavour === 'weather') {
    server.registerTool(
      'forecast',
      { description: 'A made-up forecast for a city.', inputSchema: { city: z.string() } },
      async ({ city }) => {
        const temperature = 10 + ([...city].reduce((a, c) => a + c.charCodeAt(0), 0) % 20);
        return { content: [{ type: 'text', text: `${city}: ${temperature}°C, light wind` }] };
      },
    );
    server.registerTool(
      'ask_model',
      {
        description: "Asks the client's model a question (sampling) and returns its answer.",
        inputSchema: { question: z.string() },
      },
      async ({ question }, extra) => {
        const answer = await server.server.createMessage(
          { messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens: 100 },
          { relatedRequestId: extra.requestId },
        );
        const text = answer.content.type === 'text' ? answer.content.text : `[${answer.content.type}]`;
        return { content: [{ type: 'text', text: `the model said: ${text}` }] };
      },
    );
    server.registerTool(
      'count_down',
      {
        description: 'Counts down from `from` to zero, with a progress notification per step.',
        inputSchema: { from: z.number().int().min(1).max(20) },
      },
      async ({ from }, extra) => {
        // Utilities › Progress (MCP 2025-11-25): progress goes to the token the request's _meta names,
        // only when it names one; `progress` increases with each notification, `total` may be known.
        const progressToken = extra._meta?.progressToken;
        for (let done = 1; done <= from; done++) {
          if (progressToken !== undefined)
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress: done, total: from, message: `${from - done} to go` },
            });
        }
        return { content: [{ type: 'text', text: `counted down from ${from}` }] };
      },
    );
    server.registerResource(
      'stations',
      'weather://stations',
      { description: 'Weather stations', mimeType: 'text/plain' },
      async (uri) => ({ contents: [{ uri: uri.href, text: 'north, south, harbour' }] }),
    );
  } else {
    const notes: string[] = [];
    server.registerTool(
      'add_note',
      { description: 'Adds a note.', inputSchema: { text: z.string() } },
      async ({ text }) => {
        notes.push(text);
        return {
          content: [
            { type: 'text', text: `note ${notes.length} added` },
            { type: 'resource_link', uri: `notes://${notes.length}`, name: `note ${notes.length}` },
          ],
        };
      },
    );
    server.registerTool('list_notes', { description: 'Lists the notes.' }, async () => ({
      content: [{ type: 'text', text: notes.length === 0 ? '(no notes)' : notes.join('\n') }],
    }));
    server.registerTool(
      'confirm_note',
      {
        description: 'Asks the user (elicitation, form mode) to confirm a note before adding it.',
        inputSchema: { text: z.string() },
      },
      async ({ text }, extra) => {
        // Client › Elicitation (MCP 2025-11-25): elicitation/create with a message and a flat
        // requestedSchema; the answer's action is accept (with content), decline or cancel.
        const answer = await server.server.elicitInput(
          {
            mode: 'form',
            message: `Add the note "${text}"?`,
            requestedSchema: {
              type: 'object',
              properties: { tag: { type: 'string', description: 'A tag for the note' } },
              required: ['tag'],
            },
          },
          { relatedRequestId: extra.requestId },
        );
        if (answer.action !== 'accept')
          return { content: [{ type: 'text', text: `not added (${answer.action})` }] };
        notes.push(text);
        return {
          content: [
            { type: 'text', text: `note ${notes.length} added, tagged ${String(answer.content?.tag)}` },
          ],
        };
      },
    );
    server.registerTool(
      'delete_notes',
      { description: 'Deletes every note (hidden by the local stack’s tool filter).' },
      async () => {
        notes.length = 0;
        return { content: [{ type: 'text', text: 'deleted' }] };
      },
    );
    server.registerPrompt(
      'summarise',
      { description: 'Summarise the notes', argsSchema: { style: z.string() } },
      ({ style }) => ({
        messages: [
          {
            role: 'user',
            content: { type: 'text', text: `Summarise in a ${style} style: ${notes.join('; ')}` },
          },
        ],
      }),
    );
  }
  return server;
}

export interface DemoMcpServer {
  flavour: DemoFlavour;
  url: string;
  /** Open sessions, by upstream session id (tests reach into them, e.g. to send notifications). */
  sessions: ReadonlyMap<string, { server: McpServer; transport: StreamableHTTPServerTransport }>;
  close(): Promise<void>;
}

export async function startDemoMcpServer(
  flavour: DemoFlavour,
  options: { host?: string; port?: number; path?: string } = {},
): Promise<DemoMcpServer> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  const sessions = new Map<string, { server: McpServer; transport: StreamableHTTPServerTransport }>();
  const eventStore = new MemoryEventStore();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').split('?', 1)[0] !== path) {
      res.writeHead(404).end();
      return;
    }
    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;
    const existing = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (existing) {
      await existing.transport.handleRequest(req, res);
      return;
    }
    if (req.method !== 'POST' || sessionId !== undefined) {
      // An unknown session is 404 (Streamable HTTP § Session Management); no session at all, 400.
      res.writeHead(sessionId === undefined ? 400 : 404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = undefined;
    }
    if (!isInitializeRequest(body)) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'initialize first' } }),
      );
      return;
    }
    const server = buildServer(flavour);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore,
      onsessioninitialized: (id) => {
        sessions.set(id, { server, transport });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  return {
    flavour,
    url: `http://${host}:${port}${path}`,
    sessions,
    async close() {
      for (const { server } of sessions.values()) await server.close().catch(() => undefined);
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

/**
 * The MCPServers of a configuration that the local stack serves itself: annotated
 * `agentrouter.dev/simulated: <flavour>` (weather or notes) with a loopback URL, as ProviderBackends
 * annotated so are served by simulated model servers.
 */
export function simulatedMcpServers(
  manifests: readonly { manifest: AnyManifest }[],
): { flavour: DemoFlavour; host: string; port: number; path: string }[] {
  const out: { flavour: DemoFlavour; host: string; port: number; path: string }[] = [];
  for (const { manifest } of manifests) {
    if (manifest.kind !== 'MCPServer') continue;
    const flavour = manifest.metadata.annotations?.[SIMULATED_ANNOTATION];
    if (flavour !== 'weather' && flavour !== 'notes') continue;
    const url = new URL(manifest.spec.url);
    if (!/^127\.\d+\.\d+\.\d+$|^localhost$/.test(url.hostname)) continue;
    out.push({ flavour, host: url.hostname, port: Number(url.port || 80), path: url.pathname });
  }
  return out;
}

export async function startMcpFleet(
  specs: readonly { flavour: DemoFlavour; host: string; port: number; path: string }[],
): Promise<DemoMcpServer[]> {
  return Promise.all(specs.map((s) => startDemoMcpServer(s.flavour, s)));
}
