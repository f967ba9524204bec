/**
 * Generated requests for fuzz.test.ts: every route, with bodies, headers and
 * query strings a careless or hostile client could send — random JSON, deep
 * nesting, huge strings, invalid UTF-8, `NaN` / `1e309` / `-0` as raw JSON
 * text, prototype keys, duplicate ids and keys, wrong content types, chunked
 * bodies — mixed with well-formed ones, so some reach the reducer.
 *
 * A request names the sessions it is about symbolically (`target`, `victim`,
 * `finished`): the test resolves them when it sends, as the sessions change.
 */
import fc from 'fast-check';

/** A session the test keeps: the one whose consistency is watched, one to delete, a finished operation's. */
export type Slot = 'target' | 'victim' | 'finished';

/** A path segment or query value: literal text, or a kept session's id or token. */
export type Part = string | { slot: Slot; as: 'id' | 'viewerToken' | 'reporterToken' };

export interface FuzzRequest {
  method: string;
  path: Part[];
  /** Query pairs, each already encoded (or deliberately not). */
  query: [string, Part][];
  headers: Record<string, string>;
  /** Which credential goes in `Authorization`. */
  auth: 'owner' | 'admin' | 'reporter' | 'viewer' | 'none' | 'garbage';
  body: Uint8Array | null;
  /** Sent chunked, with no Content-Length. */
  chunked: boolean;
}

const ID = (slot: Slot): Part => ({ slot, as: 'id' });

// ---------------------------------------------------------------- pieces ---

/** Numbers as raw JSON text: mostly in range, else odd ones JSON.parse takes, or ones it refuses. */
const rawNumber = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 100 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '1e309',
      '-1e309',
      '-0',
      '-0.0',
      '1e-400',
      '9007199254740993',
      '-1',
      '0',
      '100.0000000001',
      '1E2',
      'null',
      'true',
      '"10"',
      '[]',
      '{}',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity', '0x10', '01', '.5', '+1') },
  { weight: 1, arbitrary: fc.double().map((n) => (Number.isFinite(n) ? String(n) : 'null')) },
  { weight: 1, arbitrary: fc.integer().map(String) },
);

/** A JSON object text with any subset of `fields`, each field's value already JSON text. */
const jsonObject = (fields: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> =>
  fc.record(fields, { requiredKeys: [] }).map(
    (picked) =>
      `{${Object.entries(picked)
        .map(([k, v]) => `"${k}":${v}`)
        .join(',')}}`,
  );

/** A JSON string literal: short and odd, lone surrogates, reserved names, or (rarely) huge. */
const rawString = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '"a"',
      '"b"',
      '"main"',
      '""',
      '"__proto__"',
      '"constructor"',
      '"prototype"',
      '"\\ud800"',
      '"\\udfff\\ud800"',
      '"\\u0000"',
      '"<img src=x onerror=alert(1)>"',
      '"has space"',
      '"ghost"',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 5_000 }).map((n) => JSON.stringify('x'.repeat(n))) },
);

const taskRef = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('"a"', '"b"', '"main"') },
  { weight: 1, arbitrary: rawString },
);

/** `[[[…0…]]]`, around the 32-level limit and far past it. */
const deep = fc
  .constantFrom(5, 31, 32, 33, 100, 5_000, 200_000)
  .chain((depth) => fc.constantFrom('[', '{"k":').map((open) => ({ depth, open })))
  .map(({ depth, open }) => `${open.repeat(depth)}0${(open === '[' ? ']' : '}').repeat(depth)}`);

const anyJson = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? 'null');

const protoObject = fc.constantFrom(
  '{"__proto__":{"admin":true,"owner":"bob"}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"__proto__":[]}',
  '{"toString":1,"valueOf":2,"hasOwnProperty":3}',
);

// ---------------------------------------------------------------- events ---

const event = fc.oneof(
  fc.tuple(taskRef, rawNumber).map(([t, n]) => `{"type":"percent","task":${t},"value":${n}}`),
  fc.tuple(taskRef, rawNumber, rawNumber).map(([t, d, n]) => `{"type":"steps","task":${t},"done":${d},"total":${n}}`),
  fc.tuple(taskRef, rawNumber).map(([t, n]) => `{"type":"retry","task":${t},"attempt":${n}}`),
  taskRef.map((t) => `{"type":"start","task":${t}}`),
  rawString.map((s) => `{"type":"log","line":${s}}`),
  fc.array(rawString, { maxLength: 5 }).map((l) => `{"type":"log","lines":[${l.join(',')}]}`),
  fc.constantFrom('{"type":"log","line":"one","line":"two"}', '{"type":"log","line":"x","lines":["y"]}'),
  fc
    .tuple(rawString, fc.constantFrom('"info"', '"warning"', '"error"', '"fatal"', '1'))
    .map(([s, l]) => `{"type":"message","text":${s},"level":${l}}`),
  rawString.map((s) => `{"type":"stage","name":${s}}`),
  fc.oneof(anyJson, deep, protoObject).map((d) => `{"type":"result","data":${d}}`),
  rawString.map((s) => `{"type":"result","artifacts":[{"name":"f","url":${s}},{"name":${s},"text":${s}}]}`),
  fc.constantFrom('{"type":"heartbeat"}', '{"type":"heartbeat","task":"a"}', '{"type":"teleport"}', '{}', 'null'),
  rawNumber.map((n) => `{"type":"queued","position":${n}}`),
  protoObject.map((p) => `{"type":"log","line":"x",${p.slice(1, -1)}}`),
  // Rare, as they end the session: the test then keeps another.
  fc.constantFrom(
    '{"type":"complete","task":"b"}',
    '{"type":"error","message":"fuzz"}',
    '{"type":"cancelled"}',
    '{"type":"chain","next":"nope"}',
  ),
  anyJson,
);

const eventBatch = fc.oneof(
  { weight: 5, arbitrary: fc.array(event, { minLength: 1, maxLength: 4 }).map((e) => `[${e.join(',')}]`) },
  { weight: 2, arbitrary: event },
  // NDJSON: one a line, blank lines, CRLF, a last line with no newline.
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.array(event, { minLength: 1, maxLength: 5 }), fc.constantFrom('\n', '\r\n', '\n\n'))
      .map(([e, sep]) => e.join(sep)),
  },
  // Many small events, or one log event with very many lines.
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(10_001, 2_000)
      .map((n) => `[${'{"type":"heartbeat"},'.repeat(n - 1)}{"type":"heartbeat"}]`),
  },
);

// ---------------------------------------------------------- other bodies ---

const createBody = fc.oneof(
  // Mostly what a reporter sends.
  jsonObject({
    title: rawString,
    tasks: fc.constantFrom('{"a":"A","b":"B","main":"M"}', '[{"id":"a","name":"A","weight":2}]', '{"a":"A"}'),
    ttlSeconds: fc.integer({ min: 1, max: 600 }).map(String),
    viewerScope: fc.constantFrom('"view"', '"view+cancel"'),
  }),
  jsonObject({
    title: rawString,
    tasks: fc.oneof(
      fc.constantFrom(
        '{"a":"A","b":"B","main":"M"}',
        '{"a":"A","a":"B"}',
        '[{"id":"a","name":"A"},{"id":"a","name":"B"}]',
        '{"__proto__":"A","b":"B"}',
        '[{"id":"__proto__","name":"A"}]',
        '[]',
        '{}',
      ),
      fc
        .tuple(taskRef, rawString, rawNumber, rawNumber)
        .map(([i, n, w, e]) => `[{"id":${i},"name":${n},"weight":${w},"expectedMs":${e}}]`),
    ),
    stages: fc.array(rawString, { maxLength: 4 }).map((s) => `[${s.join(',')}]`),
    ttlSeconds: rawNumber,
    deadAfterMs: rawNumber,
    stallAfterMs: rawNumber,
    owner: fc.constantFrom('"ann"', '"bob"', '""', '1'),
    viewerScope: fc.constantFrom('"view"', '"view+cancel"', '"report"', '"admin"'),
    extra: rawNumber,
  }),
  protoObject,
  fc.constant(`{"tasks":{${Array.from({ length: 1_001 }, (_, i) => `"t${i}":"T"`).join(',')}}}`),
);

const tokenBody = fc
  .tuple(
    fc.constantFrom('"view"', '"view+cancel"', '"report"', '"admin"', 'null'),
    fc.option(fc.oneof(fc.integer({ min: 10, max: 3_600 }).map(String), rawNumber), { nil: undefined }),
  )
  .map(([scope, ttl]) => (ttl === undefined ? `{"scope":${scope}}` : `{"scope":${scope},"ttlSeconds":${ttl}}`));

const operationBody = fc.oneof(
  fc.tuple(rawNumber, rawString).map(([rows, label]) => `{"rows":${rows},"label":${label}}`),
  fc.constant('{"rows":3}'),
  protoObject,
);

/** A body's text, for a route's own shape or for any other. */
const bodyText = (own: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 8, arbitrary: own },
    { weight: 1, arbitrary: anyJson },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '[', '{"a":', '\u0000', '\ufeff[]', 'null', '[]') },
    // Past the 1 MiB body limit, or just under it.
    { weight: 1, arbitrary: fc.constantFrom(1_048_000, 1_048_577, 1_500_000).map((n) => `["${'x'.repeat(n)}"]`) },
  );

const encoder = new TextEncoder();

/** Invalid UTF-8: stray continuation bytes, overlong forms, surrogates, past U+10FFFF, cut sequences. */
const BAD_BYTES = [
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
];

const bodyBytes = (own: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 8, arbitrary: bodyText(own).map((t) => encoder.encode(t)) },
    {
      weight: 2,
      // After a quote: mostly inside a string, where the JSON around it stays valid.
      arbitrary: fc.tuple(bodyText(own), fc.constantFrom(...BAD_BYTES), fc.nat()).map(([t, bad, n]) => {
        const bytes = encoder.encode(t);
        const quotes: number[] = [];
        for (let i = 0; i < bytes.length && quotes.length < 64; i++) if (bytes[i] === 0x22) quotes.push(i + 1);
        const cut = quotes.length === 0 ? 0 : quotes[n % quotes.length]!;
        const out = new Uint8Array(bytes.length + bad.length);
        out.set(bytes.subarray(0, cut));
        out.set(bad, cut);
        out.set(bytes.subarray(cut), cut + bad.length);
        return out;
      }),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  );

// --------------------------------------------------------- headers, query ---

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/x-ndjson',
  'application/ndjson',
  'application/json-seq',
  'application/jsonx',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  '',
];

/** A header value Node will send (no control characters but tab). */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, '?');

const headers = fc
  .record(
    {
      'content-type': fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        fc.constantFrom(...CONTENT_TYPES),
      ),
      'idempotency-key': fc.oneof(
        fc.constantFrom('batch-1', 'batch-2', 'batch-3', 'has space', 'x'.repeat(201), ''),
        fc.string({ unit: 'binary-ascii', maxLength: 30 }).map(headerSafe),
      ),
      accept: fc.constantFrom('text/event-stream', 'application/x-ndjson', '*/*', 'text/html'),
      'last-event-id': fc.constantFrom('-1', 'NaN', '1e309', '0', '3', '99999999999999999999', 'abc', ''),
      origin: fc.constantFrom('https://evil.example', 'http://localhost:3000', 'null'),
      'if-none-match': fc.constantFrom('*', '"x"'),
      'x-forwarded-for': fc.constantFrom('1.2.3.4', 'not-an-ip'),
    },
    { requiredKeys: [] },
  )
  .map((h) => h as Record<string, string>);

const queryValue: fc.Arbitrary<Part> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'NaN',
      '1e309',
      '-0',
      '-1',
      '0',
      '1',
      '100',
      '101',
      '9007199254740993',
      '',
      '%FF',
      '%00',
      '%E0%80',
      '%',
      '%G1',
      '%C0%AF',
      '%ED%A0%80',
      '%2e%2e%2f',
      'a+b',
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .string({ unit: 'binary', maxLength: 20 })
      .map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?'))),
  },
  { weight: 2, arbitrary: fc.constantFrom<Part>(ID('target'), { slot: 'target', as: 'viewerToken' }) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(3_000)) },
);

const queryKey = fc.oneof(
  fc.constantFrom('limit', 'cursor', 'after', 'logAfter', 'session', 'token', '__proto__', 'constructor', 'limit[]'),
  fc.string({ unit: 'grapheme-ascii', maxLength: 8 }).map(encodeURIComponent),
);

const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 5 });

// ---------------------------------------------------------------- routes ---

/** `:id`: mostly the slot the route is about, sometimes anything. */
const idFor = (slot: Slot): fc.Arbitrary<Part> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(ID(slot)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('nope', '..', '%2e%2e', '%00', '%FF', 'x'.repeat(300), '__proto__', 'constructor'),
    },
    {
      weight: 1,
      arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
    },
  );

/** `GET /stream`'s query: sessions and tokens, in and out of step, past the 50-session limit. */
const streamQuery: fc.Arbitrary<[string, Part][]> = fc.oneof(
  fc.constant<[string, Part][]>([['session', ID('target')]]),
  fc.constant<[string, Part][]>([
    ['session', ID('target')],
    ['token', { slot: 'target', as: 'viewerToken' }],
  ]),
  fc.constant<[string, Part][]>([
    ['session', ID('target')],
    ['session', ID('victim')],
    ['token', { slot: 'target', as: 'viewerToken' }],
  ]),
  fc.constant<[string, Part][]>(Array.from({ length: 51 }, () => ['session', ID('target')])),
  query,
);

type Route = [
  method: string,
  path: fc.Arbitrary<Part[]>,
  body: fc.Arbitrary<string> | null,
  weight: number,
  query?: fc.Arbitrary<[string, Part][]>,
];

const ROUTES: Route[] = [
  ['POST', fc.constant(['/sessions']), createBody, 3],
  ['GET', fc.constant(['/sessions']), null, 1],
  ['GET', idFor('target').map((id) => ['/sessions/', id]), null, 1],
  ['POST', idFor('target').map((id) => ['/sessions/', id, '/events']), eventBatch, 10],
  ['POST', idFor('target').map((id) => ['/sessions/', id, '/cancel']), fc.constant(''), 1],
  ['POST', idFor('target').map((id) => ['/sessions/', id, '/tokens']), tokenBody, 1],
  ['DELETE', idFor('victim').map((id) => ['/sessions/', id]), null, 1],
  ['GET', idFor('target').map((id) => ['/sessions/', id, '/stream']), null, 2],
  ['GET', fc.constant(['/stream']), null, 2, streamQuery],
  ['POST', idFor('finished').map((id) => ['/sessions/', id, '/restart']), null, 1],
  ['POST', fc.constantFrom(['/operations/count'], ['/operations/nope'], ['/operations/%00']), operationBody, 2],
  [
    'GET',
    fc.constantFrom(
      ['/healthz'],
      ['/openapi.json'],
      ['/widget.js'],
      ['/widget.json'],
      ['/widget-list.js'],
      ['/widget-list.json'],
    ),
    null,
    1,
  ],
];

const route = fc.oneof(
  ...ROUTES.map(([method, path, body, weight, ownQuery]) => ({
    weight,
    arbitrary: fc.record({
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant(method) },
        fc.constantFrom('PUT', 'PATCH', 'HEAD', 'OPTIONS'),
      ),
      path,
      query: ownQuery ?? query,
      body: body === null ? fc.option(bodyBytes(anyJson), { freq: 8, nil: null }) : bodyBytes(body),
    }),
  })),
  {
    weight: 1,
    arbitrary: fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      path: fc.constantFrom<Part[]>(
        ['/'],
        ['/sessions/a/b/c'],
        ['//sessions'],
        ['/sessions/'],
        ['/%ZZ'],
        ['/stream/x'],
      ),
      query,
      body: fc.option(bodyBytes(anyJson), { nil: null }),
    }),
  },
);

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    route,
    headers,
    auth: fc.oneof(
      { weight: 10, arbitrary: fc.constant('owner' as const) },
      fc.constantFrom('admin' as const, 'reporter' as const, 'viewer' as const, 'none' as const, 'garbage' as const),
    ),
    chunked: fc.boolean(),
    // NDJSON bodies are mostly sent as such (else they are simply invalid JSON).
    ndjson: fc.boolean(),
  })
  .map(({ route, headers, auth, chunked, ndjson }) => ({
    method: route.method,
    path: route.path,
    query: route.query,
    headers:
      ndjson && route.body !== null && route.body[0] === 0x7b && route.body.includes(0x0a)
        ? { ...headers, 'content-type': 'application/x-ndjson' }
        : headers,
    auth,
    body: route.body,
    chunked,
  }));
