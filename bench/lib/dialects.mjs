// The client dialects Sluice speaks besides create-and-call-stream, one entry each. Adding a dialect
// to the bench is adding an entry to DIALECTS: the dialects phase, its rows in the table and its
// targets all come from this list. An entry:
//   name      the row's key in results.json, and the path's name in the phase's progress lines
//   route     Sluice's route
//   model     the catalog alias asked for: its provider decides whether Sluice relays the upstream's
//             events as they are or decodes and re-encodes them
//   upstream  the format that model's upstream speaks (a key of UPSTREAMS): the reference forwards
//             the same stream in it, untouched, for the row's comparison
//   relayed   whether Sluice relays (CPU target 2x the reference, as for chat) or re-encodes (3x)
//   headers   the headers that carry the virtual key, as that dialect's SDKs send it
//   body      the streaming request, the stream's shape in its one user message
//   done      the text of the event that ends a whole stream
//   events    how the client finds the stamps (bench/lib/client.mjs): the name of the events that
//             carry a text delta, and the delta's text in their data; and the events that report
//             a failure after the 200

/** Anthropic's Messages events, whether an Anthropic upstream wrote them or Sluice did. */
const ANTHROPIC_EVENTS = { delta: 'content_block_delta', text: (data) => data.delta?.text, errors: ['error'] };
/** The Responses API's events. Only the deltas: its `done` and `completed` events repeat the text so far. */
const RESPONSES_EVENTS = {
  delta: 'response.output_text.delta',
  text: (data) => data.delta,
  errors: ['response.failed', 'error'],
};

const messagesBody = (model, shape) =>
  JSON.stringify({
    model,
    max_tokens: 1024,
    stream: true,
    messages: [{ role: 'user', content: JSON.stringify(shape) }],
  });

/**
 * What the reference forwards, per upstream format: the upstream's own stream for the same shape.
 * An OpenAI stream carries its stamps in its text when the shape says `"stamp": "text"`
 * (bench/upstream.mjs), which every dialect phase's shape does, so that a re-encoding keeps them.
 */
export const UPSTREAMS = {
  anthropic: {
    streamPath: '/v1/messages',
    done: 'event: message_stop',
    events: ANTHROPIC_EVENTS,
    body: (shape) => messagesBody('bench', shape),
  },
  openai: {
    streamPath: '/v1/chat/completions',
    done: 'data: [DONE]',
    events: null, // chat chunks: the client's default reading
    body: (shape) =>
      JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: JSON.stringify(shape) }], stream: true }),
  },
};

export const DIALECTS = [
  {
    name: 'messages-anthropic',
    route: '/v1/messages',
    model: 'bench-anthropic',
    upstream: 'anthropic',
    relayed: true,
    headers: (key) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' }),
    body: (shape) => messagesBody('bench-anthropic', shape),
    done: 'event: message_stop',
    events: ANTHROPIC_EVENTS,
  },
  {
    name: 'messages-openai',
    route: '/v1/messages',
    model: 'bench',
    upstream: 'openai',
    relayed: false,
    headers: (key) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' }),
    body: (shape) => messagesBody('bench', shape),
    done: 'event: message_stop',
    events: ANTHROPIC_EVENTS,
  },
  {
    name: 'responses-openai',
    route: '/v1/responses',
    model: 'bench',
    upstream: 'openai',
    relayed: false,
    headers: (key) => ({ authorization: `Bearer ${key}` }),
    body: (shape) => JSON.stringify({ model: 'bench', input: JSON.stringify(shape), stream: true }),
    done: 'event: response.completed',
    events: RESPONSES_EVENTS,
  },
];

/** The reference's path for an upstream format, in the dialects phase. */
export const referenceFor = (upstream) => `reference-${upstream}`;

/** How a row reads in the table and the targets: `/v1/messages relayed from anthropic`. */
export const dialectLabel = (d) => `${d.route} ${d.relayed ? 'relayed' : 're-encoded'} from ${d.upstream}`;
