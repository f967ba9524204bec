/**
 * The HTTP API as an OpenAPI 3.1 document, served at `/openapi.json`. Request
 * bodies and query strings are the very zod schemas the routes validate with
 * (server/core/schemas.ts), turned into JSON Schema by zod itself, so the
 * document cannot say one thing while the routes check another.
 */
import { z } from 'zod';
import { ERROR_CODES, PROTOCOL_VERSION, SERVER_RESTARTED } from '../../protocol/index.ts';
import {
  createSessionSchema,
  eventBatchSchema,
  subjectTokenRequestSchema,
  tokenRequestSchema,
} from '../core/schemas.ts';
import { listQuerySchema } from './list-query.ts';

const schema = (zod: z.ZodType) => {
  const { $schema: _, ...json } = z.toJSONSchema(zod, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return json;
};

const error = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const NOT_FOUND = `${ERROR_CODES[404]}; ${SERVER_RESTARTED} for a token signed by an earlier run of a server that kept its sessions in memory (they are gone)`;

const errors = (...statuses: (keyof typeof ERROR_CODES)[]) =>
  Object.fromEntries(
    statuses.map((status) => [String(status), error(status === 404 ? NOT_FOUND : ERROR_CODES[status])]),
  );

const json = (ref: string, description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const sessionRead = { security: [{ bearer: [] }, { token: [] }] };

/** The document, for a server reached at `serverUrl` (omitted: relative). */
export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const listQuery = schema(listQuerySchema) as { properties: Record<string, object> };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Liveop',
      version: String(PROTOCOL_VERSION),
      description:
        'Live progress of long-running work: progress sessions, reported over HTTP by any backend, streamed as NDJSON or Server-Sent Events. See docs/protocol.md.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key, or a session token' },
        token: { type: 'apiKey', in: 'query', name: 'token', description: 'A session token (never an API key)' },
      },
      schemas: {
        CreateSession: schema(createSessionSchema),
        EventBatch: schema(eventBatchSchema),
        TokenRequest: schema(tokenRequestSchema),
        SubjectTokenRequest: schema(subjectTokenRequestSchema),
        CreatedSession: {
          type: 'object',
          required: ['id', 'viewerToken', 'reporterToken', 'streamUrl', 'snapshotUrl', 'watchUrl'],
          properties: Object.fromEntries(
            ['id', 'viewerToken', 'reporterToken', 'streamUrl', 'snapshotUrl', 'watchUrl'].map((k) => [
              k,
              { type: 'string' },
            ]),
          ),
        },
        EventsAccepted: {
          type: 'object',
          required: ['version', 'cancelRequested'],
          properties: { version: { type: 'integer' }, cancelRequested: { type: 'boolean' } },
        },
        Snapshot: {
          type: 'object',
          description: 'A session as viewers see it (docs/protocol.md, "What viewers see").',
          required: ['type', 'id', 'version', 'title', 'status', 'percent', 'tasks'],
          properties: {
            type: { const: 'snapshot' },
            id: { type: 'string' },
            version: { type: 'integer' },
            title: { type: 'string' },
            status: { type: 'string', enum: ['pending', 'running', 'complete', 'error', 'cancelled'] },
            percent: { type: 'integer', minimum: 0, maximum: 100 },
            etaMs: { type: ['integer', 'null'] },
            tasks: { type: 'array', items: { type: 'object' } },
            stages: { type: 'array', items: { type: 'object' } },
            logs: { type: 'array', items: { type: 'object' }, description: 'Each {seq, at, line, data?}' },
            outputs: { $ref: '#/components/schemas/Outputs' },
          },
        },
        // Output streams by name: all each retains on a read, what is new on a stream line (placed at `offset`).
        Outputs: { type: 'object', additionalProperties: { type: 'object', required: ['offset'] } },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string', enum: Object.values(ERROR_CODES) }, message: { type: 'string' } },
            },
          },
        },
      },
    },
    paths: {
      '/sessions': {
        post: {
          summary: 'Create a session',
          description:
            'A `webhook` is refused (400) when the server signs none, or when its host is a loopback, private or other special-purpose address written as such, or a `localhost` name, unless the server allows private networks (`LIVEOP_WEBHOOK_PRIVATE=1`). A host name is resolved and checked when the webhook is sent; redirects are not followed.',
          security: [{ bearer: [] }],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/CreateSession' } } },
          },
          responses: { '201': json('CreatedSession', 'created'), ...errors(400, 401, 403, 413, 415, 429, 503) },
        },
        get: {
          summary: "List the caller's sessions, newest first; or, asked as a stream, follow them live",
          description:
            'Filters combine: `parent` (its children), `tag=key:value` (repeatable: all must match), `operation`, ' +
            '`status` (comma-separated; `retrying` is a session running again after a `retry`, and counts as `running`), ' +
            '`since` / `until` (ISO 8601, on `createdAt`), `q` (in the title), `subject`. With `Accept: application/x-ndjson` ' +
            '(or `text/event-stream`) the same query is a live stream: a snapshot line for each listed session, then for ' +
            'each session as it appears (or, with `status`, comes to match), changes and ends; it does not end on its own, ' +
            'and a `reconnect` line asks the client to open it again (and list afresh).',
          security: [{ bearer: [] }],
          parameters: Object.entries(listQuery.properties).map(([name, s]) => ({ name, in: 'query', schema: s })),
          responses: {
            '200': {
              description:
                'a page. With a filter other than `parent`, one call reads at most 1,000 sessions: the page may then be short, ' +
                'even empty, with a `cursor` that goes on from there (null once nothing is left)',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      sessions: { type: 'array', items: { $ref: '#/components/schemas/Snapshot' } },
                      cursor: { type: ['string', 'null'] },
                    },
                  },
                },
                'application/x-ndjson': { schema: { $ref: '#/components/schemas/Snapshot' } },
                'text/event-stream': { schema: { type: 'string' } },
              },
            },
            ...errors(400, 401, 403, 429, 503),
          },
        },
      },
      '/sessions/{id}': {
        get: {
          summary: 'The snapshot (for polling)',
          ...sessionRead,
          parameters: [idParam],
          responses: { '200': json('Snapshot', 'the snapshot'), ...errors(401, 403, 404, 503) },
        },
        delete: {
          summary: 'Remove it; its streams end with `gone`',
          security: [{ bearer: [] }],
          parameters: [idParam],
          responses: { '204': { description: 'removed' }, ...errors(401, 403, 404, 503) },
        },
      },
      '/sessions/{id}/events': {
        post: {
          summary: 'Apply a batch of events, atomically, in order',
          security: [{ bearer: [] }],
          parameters: [
            idParam,
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'Sent again with a retried batch: it is applied once.',
              schema: { type: 'string', maxLength: 200, pattern: '^[!-~]+$' },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/EventBatch' } },
              'application/x-ndjson': { schema: { type: 'string', description: 'one event a line' } },
            },
          },
          responses: {
            '200': json('EventsAccepted', 'applied'),
            ...errors(400, 401, 403, 404, 409, 413, 415, 429, 503),
          },
        },
      },
      '/sessions/{id}/stream': {
        get: {
          summary: 'Snapshots as they change (NDJSON, or SSE with Accept: text/event-stream)',
          ...sessionRead,
          parameters: [
            idParam,
            { name: 'after', in: 'query', schema: { type: 'integer', minimum: 0 } },
            { name: 'logAfter', in: 'query', schema: { type: 'integer', minimum: 0 } },
          ],
          responses: {
            '200': {
              description: 'one JSON line per visible change, ending after the terminal snapshot',
              content: {
                'application/x-ndjson': { schema: { type: 'string' } },
                'text/event-stream': { schema: { type: 'string' } },
              },
            },
            ...errors(400, 401, 403, 404, 503),
          },
        },
      },
      '/stream': {
        get: {
          summary: 'Several sessions on one connection',
          parameters: [
            { name: 'session', in: 'query', required: true, schema: { type: 'array', items: { type: 'string' } } },
            { name: 'token', in: 'query', schema: { type: 'array', items: { type: 'string' } } },
          ],
          responses: {
            '200': {
              description: 'NDJSON lines, each naming its session',
              content: { 'application/x-ndjson': { schema: { type: 'string' } } },
            },
            ...errors(400, 401, 403, 503),
          },
        },
      },
      '/sessions/{id}/cancel': {
        post: {
          summary: 'Ask the work to stop',
          ...sessionRead,
          parameters: [idParam],
          responses: { '202': { description: 'requested' }, ...errors(401, 403, 404, 409, 503) },
        },
      },
      '/sessions/{id}/tokens': {
        post: {
          summary: 'Mint another token for the session',
          security: [{ bearer: [] }],
          parameters: [idParam],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/TokenRequest' } } },
          },
          responses: {
            '201': { description: 'the token', content: { 'application/json': { schema: { type: 'object' } } } },
            ...errors(400, 401, 403, 404, 503),
          },
        },
      },
      '/tokens': {
        post: {
          summary: "Mint a subject token: one end user's sessions, for a browser to list, watch and cancel",
          description:
            'With an API key. The token lists (`GET /sessions`), reads and streams the sessions its owner created ' +
            'with this `subject`, and with `view+cancel` cancels them; it never reports, deletes, restarts or mints. ' +
            "`<live-operation-list token=…>` takes it; the list's rows carry session tokens of the same scope.",
          security: [{ bearer: [] }],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/SubjectTokenRequest' } } },
          },
          responses: {
            '201': { description: 'the token', content: { 'application/json': { schema: { type: 'object' } } } },
            ...errors(400, 401, 403, 413, 415, 429),
          },
        },
      },
      '/sessions/{id}/restart': {
        post: {
          summary: 'Start a finished operation again, as a new session',
          security: [{ bearer: [] }],
          parameters: [idParam],
          responses: { '201': json('CreatedSession', 'started'), ...errors(401, 403, 404, 409, 503) },
        },
      },
      '/operations/{name}': {
        post: {
          summary: 'Start a registered operation with a JSON input',
          description:
            'An operation registered with visitors: true may be started with no credential (each client address ' +
            'within the visitors rate limit); that answer has no reporterToken.',
          security: [{ bearer: [] }, {}],
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: { required: false, content: { 'application/json': { schema: {} } } },
          responses: { '201': json('CreatedSession', 'started'), ...errors(400, 401, 403, 404, 413, 415, 503) },
        },
      },
      '/widget.js': {
        get: {
          summary: 'The <live-operation> element, one ES module',
          responses: {
            '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } },
          },
        },
      },
      '/widget-list.js': {
        get: {
          summary: 'The <live-operation-list> element (with <live-operation> inside), one ES module',
          responses: {
            '200': { description: 'JavaScript', content: { 'text/javascript': { schema: { type: 'string' } } } },
          },
        },
      },
      '/watch/{id}': {
        get: {
          summary: 'A page that shows the session (the watchUrl of a created session): a link to share',
          parameters: [idParam, { name: 'token', in: 'query', schema: { type: 'string' } }],
          responses: {
            '200': { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } },
            ...errors(400, 404),
          },
        },
      },
      '/widget.json': {
        get: {
          summary: "This build's immutable URL of the element and its SRI hash, for <script integrity>",
          responses: { '200': { description: '{ url, integrity, bytes }' } },
        },
      },
      '/widget-list.json': {
        get: {
          summary: "The same for <live-operation-list>'s bundle (/widget-list.js)",
          responses: { '200': { description: '{ url, integrity, bytes }' } },
        },
      },
      '/healthz': {
        get: {
          summary: '200 when the store answers',
          responses: { '200': { description: 'healthy' }, ...errors(503) },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
    },
  };
}
