import type { Completion, FinishReason, StreamError, TokenUsage, ToolCall } from '../core/completion';
import type { StreamEvent } from '../core/stream-events';

/**
 * Folds stream events into the completion they spell out: text, tool calls assembled from their
 * argument fragments, the finish reason, and the usage (the last report wins, never a sum: a
 * provider that reports cumulative usage twice would otherwise be charged twice).
 */
export class CompletionAccumulator {
  private id: string | null = null;
  private parts: string[] = [];
  private tools = new Map<number, ToolCall>();
  private finishReason: FinishReason | null = null;
  private usage: TokenUsage | null = null;
  private done = false;
  private error: StreamError | null = null;

  add(event: StreamEvent): void {
    switch (event.type) {
      case 'start':
        this.id ??= event.id;
        return;
      case 'text':
        this.parts.push(event.text);
        return;
      case 'tool_call': {
        const existing = this.tools.get(event.index);
        if (existing) existing.function.name += event.name;
        else
          this.tools.set(event.index, {
            id: event.id,
            type: 'function',
            function: { name: event.name, arguments: '' },
          });
        return;
      }
      case 'tool_args': {
        const tool = this.tools.get(event.index);
        if (tool) tool.function.arguments += event.args;
        else this.tools.set(event.index, { id: '', type: 'function', function: { name: '', arguments: event.args } });
        return;
      }
      case 'usage':
        this.usage = event.usage;
        return;
      case 'finish':
        this.finishReason = event.reason;
        return;
      case 'error':
        this.error ??= event.error;
        return;
      case 'done':
        this.done = true;
        return;
      case 'reasoning':
        return; // not part of the answer the books keep
    }
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
