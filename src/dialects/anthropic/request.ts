/**
 * A Messages API request, as Anthropic's clients send it, read into the chat parameters every
 * provider understands. Unknown fields are accepted and ignored (clients such as Claude Code send
 * new ones often, and a strict reader breaks them); what cannot be served (images, documents,
 * server tools and their results) is refused with a 400 naming the field.
 */
import { z } from '@hono/zod-openapi';
import { Resumable } from '../stream-options';
import { type ChatParams, type Message, MAX_TOKENS_LIMIT } from '../../core/chat-params';
import { badRequest } from '../../errors';

const Block = z.object({ type: z.string() }).loose();

const Content = z.union([z.string(), z.array(Block)]);

const MessageParam = z
  .object({ role: z.enum(['user', 'assistant', 'system']), content: Content })
  .loose()
  .openapi('AnthropicMessageParam');

const ToolParam = z
  .object({
    name: z.string().min(1).max(128),
    description: z.string().optional(),
    input_schema: z.record(z.string(), z.unknown()).optional(),
    type: z.string().nullable().optional(),
  })
  .loose();

const ToolChoice = z
  .object({
    type: z.enum(['auto', 'any', 'tool', 'none']),
    name: z.string().optional(),
    disable_parallel_tool_use: z.boolean().optional(),
  })
  .loose();

/** Fields shared by a message and a token count. */
const shape = {
  model: z.string().min(1).max(128),
  messages: z.array(MessageParam).min(1, 'messages must contain at least one message').max(1000),
  system: Content.optional(),
  tools: z.array(ToolParam).max(128).optional(),
  tool_choice: ToolChoice.optional(),
};

export const MessagesRequest = z
  .object({
    ...shape,
    max_tokens: z.number().int().min(1).max(MAX_TOKENS_LIMIT),
    stop_sequences: z.array(z.string().min(1)).max(4).optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    stream: z.boolean().optional(),
    resumable: Resumable,
    metadata: z.object({ user_id: z.string().nullable().optional() }).loose().nullable().optional(),
  })
  .loose()
  .openapi('AnthropicMessagesRequest');
export type MessagesRequest = z.infer<typeof MessagesRequest>;

export const CountTokensRequest = z.object(shape).loose().openapi('AnthropicCountTokensRequest');
export type CountTokensRequest = z.infer<typeof CountTokensRequest>;

type BlockParam = z.infer<typeof Block>;

/** Text of a content value: the string, or its text blocks one per line; anything else is refused. */
function textOf(
  content: string | BlockParam[],
  param: string,
  allow: (b: BlockParam) => boolean = () => false,
): string {
  if (typeof content === 'string') return content;
  const parts: string[] = [];
  content.forEach((block, i) => {
    if (block.type === 'text' && typeof block.text === 'string') parts.push(block.text);
    else if (!allow(block)) throw unsupported(block, `${param}.${i}`);
  });
  return parts.join('\n');
}

function unsupported(block: BlockParam, param: string) {
  return badRequest(`Content blocks of type '${block.type}' are not supported here`, `${param}.type`);
}

/** The thinking a previous answer carried: dropped, as other models could not use it. */
const isThinking = (b: BlockParam) => b.type === 'thinking' || b.type === 'redacted_thinking';

/** A `tool_result`'s content as the tool message's text; an error is marked as one. */
function toolResultText(block: BlockParam, param: string): string {
  const content = block.content as string | BlockParam[] | undefined;
  const text = content === undefined ? '' : textOf(content, `${param}.content`);
  return block.is_error === true ? `Error: ${text}` : text;
}

/** One Anthropic message as chat messages: a user turn's tool results become tool messages before its text. */
function chatMessages(m: z.infer<typeof MessageParam>, at: number): Message[] {
  const param = `messages.${at}.content`;
  if (m.role === 'system') return [{ role: 'system', content: textOf(m.content, param) }];
  if (typeof m.content === 'string') return [{ role: m.role, content: m.content }];
  if (m.role === 'assistant') {
    const text: string[] = [];
    const calls: NonNullable<Extract<Message, { role: 'assistant' }>['tool_calls']> = [];
    m.content.forEach((block, i) => {
      if (block.type === 'text' && typeof block.text === 'string') text.push(block.text);
      else if (block.type === 'tool_use')
        calls.push({
          id: String(block.id ?? ''),
          type: 'function',
          function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) },
        });
      else if (!isThinking(block)) throw unsupported(block, `${param}.${i}`);
    });
    return [
      {
        role: 'assistant',
        content: text.join('') || (calls.length ? null : ''),
        ...(calls.length ? { tool_calls: calls } : {}),
      },
    ];
  }
  const out: Message[] = [];
  const text: string[] = [];
  m.content.forEach((block, i) => {
    if (block.type === 'text' && typeof block.text === 'string') text.push(block.text);
    else if (block.type === 'tool_result')
      out.push({
        role: 'tool',
        tool_call_id: String(block.tool_use_id ?? ''),
        content: toolResultText(block, `${param}.${i}`),
      });
    else throw unsupported(block, `${param}.${i}`);
  });
  if (text.length) out.push({ role: 'user', content: text.join('\n') });
  return out;
}

function chatTools(tools: MessagesRequest['tools']): ChatParams['tools'] {
  return tools?.map((t, i) => {
    // Only custom tools run on the caller's side; Anthropic's own tools run inside its API.
    if (t.type !== undefined && t.type !== null && t.type !== 'custom')
      throw badRequest(`Tools of type '${t.type}' are not supported here`, `tools.${i}.type`);
    return {
      type: 'function' as const,
      function: {
        name: t.name,
        description: t.description,
        parameters: t.input_schema ?? { type: 'object', properties: {} },
      },
    };
  });
}

function chatToolChoice(choice: MessagesRequest['tool_choice']): ChatParams['tool_choice'] {
  switch (choice?.type) {
    case undefined:
      return undefined;
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      if (!choice.name) throw badRequest('tool_choice.name is required for type "tool"', 'tool_choice.name');
      return { type: 'function', function: { name: choice.name } };
  }
}

/** The conversation and tools of a Messages request (or a token count) as chat parameters. */
export function messagesToChat(body: CountTokensRequest): Pick<ChatParams, 'messages' | 'tools' | 'tool_choice'> {
  const messages: Message[] = [];
  if (body.system !== undefined) {
    const system = textOf(body.system, 'system');
    if (system) messages.push({ role: 'system', content: system });
  }
  body.messages.forEach((m, i) => messages.push(...chatMessages(m, i)));
  if (!messages.length) throw badRequest('messages must contain at least one message', 'messages');
  return { messages, tools: chatTools(body.tools), tool_choice: chatToolChoice(body.tool_choice) };
}

/** A Messages request as the parameters of one call. */
export function messagesToParams(body: MessagesRequest): ChatParams {
  return {
    ...messagesToChat(body),
    model: body.model,
    max_tokens: body.max_tokens,
    stop: body.stop_sequences?.length ? body.stop_sequences : undefined,
    temperature: body.temperature,
    top_p: body.top_p,
  };
}
