import type { ChatCompletionChunk } from '../core/chat-chunk';
import type { Completion, FinishReason, ToolCall } from '../core/completion';

/**
 * Folds OpenAI chunks into the completion they spell out: text, tool calls assembled from
 * their argument fragments, the finish reason and the usage (kept as sent, zeros included).
 */
export class CompletionAccumulator {
  private id: string | null = null;
  private parts: string[] = [];
  private tools = new Map<number, ToolCall>();
  private finishReason: FinishReason | null = null;
  private usage: Completion['usage'] = null;
  private done = false;
  private error: Completion['error'] = null;

  add(chunk: ChatCompletionChunk): void {
    this.id ??= chunk.id ?? null;
    // Some OpenAI-compatible servers put usage on a chunk that still carries choices.
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) return;
    const { delta } = choice;
    if (delta?.content) this.parts.push(delta.content);
    for (const tc of delta?.tool_calls ?? []) {
      const existing = this.tools.get(tc.index);
      if (existing) {
        existing.function.arguments += tc.function?.arguments ?? '';
        if (tc.function?.name) existing.function.name += tc.function.name;
      } else {
        this.tools.set(tc.index, {
          id: tc.id ?? '',
          type: 'function',
          function: { name: tc.function?.name ?? '', arguments: tc.function?.arguments ?? '' },
        });
      }
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
  }

  markDone(): void {
    this.done = true;
  }

  markError(error: NonNullable<Completion['error']>): void {
    this.error ??= error;
  }

  /** Content so far, also valid mid-stream (for partial results). */
  result(): Completion {
    return {
      id: this.id,
      content: this.parts.join(''),
      toolCalls: [...this.tools.entries()].sort(([a], [b]) => a - b).map(([, t]) => t),
      finishReason: this.finishReason,
      usage: this.usage,
      done: this.done,
      error: this.error,
    };
  }
}
