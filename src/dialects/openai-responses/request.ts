/**
 * A Responses API request, as OpenAI's SDKs, the Vercel AI SDK and Codex send it, read into the
 * chat parameters every provider understands. Sluice's Responses endpoint is stateless: the
 * conversation comes whole in `input`, so `previous_response_id`, `conversation` and
 * `store: true` are refused with a 400 that says so. The one exception is `item_reference`: the
 * AI SDK refers to an answer Sluice streamed by its message id rather than sending it back, and
 * the call's row keeps that answer, so such references are resolved from the team's own calls.
 *
 * Unknown fields are accepted and ignored (the SDKs add them release by release); what cannot be
 * served (images, files, OpenAI's hosted tools) is refused with a 400 naming
 * the field.
 */
import { z } from '@hono/zod-openapi';
import { type ChatParams, type Message, MAX_TOKENS_LIMIT } from '../../core/chat-params';
import { badRequest } from '../../errors';

const Part = z.object({ type: z.string() }).loose();
const Item = z
  .object({ type: z.string().nullable().optional(), role: z.string().optional(), id: z.string().optional() })
  .loose();

const FunctionTool = z
  .object({
    type: z.string(),
    name: z.string().min(1).max(64).optional(),
    description: z.string().nullable().optional(),
    parameters: z.record(z.string(), z.unknown()).nullable().optional(),
    strict: z.boolean().nullable().optional(),
  })
  .loose();

const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z
    .object({
      type: z.string(),
      name: z.string().optional(),
      mode: z.enum(['auto', 'required']).optional(),
      tools: z.array(z.object({ type: z.string(), name: z.string().optional() }).loose()).optional(),
    })
    .loose(),
]);

const Format = z
  .object({
    type: z.enum(['text', 'json_object', 'json_schema']),
    name: z.string().optional(),
    schema: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
    description: z.string().optional(),
  })
  .loose();

export const ResponsesRequest = z
  .object({
    model: z.string().min(1).max(128),
    input: z.union([z.string(), z.array(Item).min(1, 'input must contain at least one item').max(1000)]),
    instructions: z.string().nullable().optional(),
    tools: z.array(FunctionTool).max(128).optional(),
    tool_choice: ToolChoice.optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    max_output_tokens: z.number().int().min(1).max(MAX_TOKENS_LIMIT).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    text: z.object({ format: Format.optional() }).loose().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    store: z.boolean().nullable().optional(),
    previous_response_id: z.string().nullable().optional(),
    background: z.boolean().nullable().optional(),
    metadata: z.record(z.string(), z.string()).nullable().optional(),
    user: z.string().nullable().optional(),
  })
  .loose()
  .openapi('ResponsesRequest');
export type ResponsesRequest = z.infer<typeof ResponsesRequest>;

type ItemParam = z.infer<typeof Item>;
type PartParam = z.infer<typeof Part>;

/** What the request asks that a stateless gateway cannot do, refused before anything is admitted. */
export function refuseStateful(body: ResponsesRequest & { conversation?: unknown }): void {
  const stateless = "Sluice's Responses endpoint is stateless: send the whole conversation in `input`";
  if (body.previous_response_id)
    throw badRequest(`${stateless} (previous_response_id is not supported)`, 'previous_response_id');
  if (body.conversation !== undefined && body.conversation !== null)
    throw badRequest(`${stateless} (conversation is not supported)`, 'conversation');
  // A background response is kept (its events, for RESUME_TTL), so it may say so; others are not.
  if (body.store === true && body.background !== true)
    throw badRequest(
      `${stateless}; only background responses are stored (omit store, set it to false, or set background)`,
      'store',
    );
}

/** The ids of the answers the input refers to rather than repeats (`item_reference` items). */
export function referencedItems(body: ResponsesRequest): string[] {
  if (typeof body.input === 'string') return [];
  const ids = new Set<string>();
  for (const item of body.input) if (isReference(item)) ids.add(String(item.id ?? ''));
  return [...ids];
}

const isReference = (item: ItemParam) => item.type === 'item_reference' || (item.type == null && !item.role);

/** An answer an `item_reference` stands for (the call that gave it, its text), or why it cannot be used. */
export type Referenced = { callId: string; text: string } | { missing: string };

type AssistantMessage = Extract<Message, { role: 'assistant' }>;

/**
 * The input items as chat messages. A function call joins the assistant message before it (chat
 * carries tool calls on the assistant's message, their outputs after it); a reference is that
 * earlier answer's text, once, however many of its items are referred to.
 */
function chatMessages(items: ItemParam[], referenced: ReadonlyMap<string, Referenced>): Message[] {
  const messages: Message[] = [];
  const used = new Set<string>();
  /** The assistant message a function call joins: the last message, if it is the assistant's. */
  const assistant = (): AssistantMessage => {
    const last = messages.at(-1);
    if (last?.role === 'assistant') return last;
    const fresh: AssistantMessage = { role: 'assistant', content: null };
    messages.push(fresh);
    return fresh;
  };
  items.forEach((item, i) => {
    const param = `input.${i}`;
    if (isReference(item)) {
      const answer = referenced.get(String(item.id ?? ''));
      if (!answer || 'missing' in answer) throw badRequest(answer?.missing ?? `Unknown item '${item.id}'`, param);
      if (used.has(answer.callId)) return;
      used.add(answer.callId);
      messages.push({ role: 'assistant', content: answer.text });
      return;
    }
    switch (item.type ?? 'message') {
      case 'message':
        messages.push(roleMessage(item, param));
        return;
      case 'function_call': {
        const to = assistant();
        (to.tool_calls ??= []).push({
          id: String(item.call_id ?? ''),
          type: 'function',
          function: { name: String(item.name ?? ''), arguments: String(item.arguments ?? '') },
        });
        return;
      }
      case 'function_call_output':
        messages.push({
          role: 'tool',
          tool_call_id: String(item.call_id ?? ''),
          content: typeof item.output === 'string' ? item.output : partsText(item.output, `${param}.output`),
        });
        return;
      case 'reasoning':
        return; // another model's reasoning: no model here could use it
      default:
        throw badRequest(`Input items of type '${item.type}' are not supported here`, `${param}.type`);
    }
  });
  return messages;
}

/** A message item (`type: "message"`, or only a `role`, as the AI SDK sends them). */
function roleMessage(item: ItemParam, param: string): Message {
  const content = item.content as unknown;
  const text = typeof content === 'string' ? content : partsText(content, `${param}.content`);
  switch (item.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: text };
    case 'user':
      return { role: 'user', content: text };
    case 'assistant':
      return { role: 'assistant', content: text };
    default:
      throw badRequest(`Unknown role '${item.role}'`, `${param}.role`);
  }
}

/** Text content parts (input, output or refusal text), joined; anything else is refused. */
function partsText(parts: unknown, param: string): string {
  if (!Array.isArray(parts)) throw badRequest('Expected a string or an array of content parts', param);
  return (parts as PartParam[])
    .map((part, j) => {
      if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text === 'string')
        return part.text;
      if (part.type === 'refusal' && typeof part.refusal === 'string') return part.refusal;
      throw badRequest(`Content parts of type '${part.type}' are not supported here`, `${param}.${j}.type`);
    })
    .join('');
}

function chatTools(body: ResponsesRequest): ChatParams['tools'] {
  const allowed = allowedTools(body.tool_choice);
  const tools = body.tools?.map((t, i) => {
    // Only function tools run on the caller's side; OpenAI's hosted tools run inside its API.
    if (t.type !== 'function') throw badRequest(`Tools of type '${t.type}' are not supported here`, `tools.${i}.type`);
    if (!t.name) throw badRequest('A function tool needs a name', `tools.${i}.name`);
    return {
      type: 'function' as const,
      function: {
        name: t.name,
        ...(t.description ? { description: t.description } : {}),
        parameters: t.parameters ?? { type: 'object', properties: {} },
        ...(t.strict != null ? { strict: t.strict } : {}),
      },
    };
  });
  return allowed ? tools?.filter((t) => allowed.has(t.function.name)) : tools;
}

/** `allowed_tools`: the subset of `tools` the model may call this turn. */
function allowedTools(choice: ResponsesRequest['tool_choice']): Set<string> | null {
  if (typeof choice !== 'object' || choice.type !== 'allowed_tools') return null;
  return new Set((choice.tools ?? []).map((t) => String(t.name ?? '')));
}

function chatToolChoice(choice: ResponsesRequest['tool_choice']): ChatParams['tool_choice'] {
  if (choice === undefined || typeof choice === 'string') return choice;
  if (choice.type === 'function') {
    if (!choice.name) throw badRequest('tool_choice.name is required for type "function"', 'tool_choice.name');
    return { type: 'function', function: { name: choice.name } };
  }
  if (choice.type === 'allowed_tools') return choice.mode ?? 'auto';
  throw badRequest(`tool_choice of type '${choice.type}' is not supported here`, 'tool_choice.type');
}

function responseFormat(body: ResponsesRequest): ChatParams['response_format'] {
  const format = body.text?.format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name ?? 'response',
      schema: format.schema ?? {},
      ...(format.strict != null ? { strict: format.strict } : {}),
      ...(format.description ? { description: format.description } : {}),
    },
  };
}

/** The request as the parameters of one call; `referenced` resolves its `item_reference`s. */
export function responsesToParams(body: ResponsesRequest, referenced: ReadonlyMap<string, Referenced>): ChatParams {
  const messages: Message[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
  else messages.push(...chatMessages(body.input, referenced));
  if (!messages.length) throw badRequest('input must contain at least one item', 'input');
  return {
    messages,
    model: body.model,
    tools: chatTools(body),
    tool_choice: chatToolChoice(body.tool_choice),
    response_format: responseFormat(body),
    max_tokens: body.max_output_tokens ?? undefined,
    temperature: body.temperature ?? undefined,
    top_p: body.top_p ?? undefined,
  };
}
