// Request-side helpers shared by the providers: what a message's content says.
import type { Message } from '../core/chat-params';

/** Text of an OpenAI message content: the string, or its text parts one per line. */
export function contentText(content: Message['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .filter((p) => p.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('\n');
}

/** `data:image/png;base64,...` split into its media type and base64 payload; null for other URLs. */
export function parseDataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1]!, data: m[2]! } : null;
}
