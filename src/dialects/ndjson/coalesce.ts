/**
 * Seed 004's token buffering, for clients that would rather have fewer, bigger frames (a mobile
 * client pays per frame in wake-ups and radio time): text is held until one of the flush rules
 * says it is worth sending. The rules run as text arrives, as the seed's `StreamBuffer` does, so
 * nothing waits on a timer: a flush is due when the held text reaches `max_chunk_size`, ends a
 * word or sentence (when asked), or when `flush_interval_ms` has passed since the last flush and
 * at least `min_chunk_size` characters are held. Whatever is held goes out before any other event.
 */
export interface BufferConfig {
  min_chunk_size: number;
  max_chunk_size: number;
  flush_interval_ms: number;
  buffer_by_sentence: boolean;
  buffer_by_word: boolean;
}

export const BUFFER_DEFAULTS: BufferConfig = {
  min_chunk_size: 1,
  max_chunk_size: 100,
  flush_interval_ms: 50,
  buffer_by_sentence: false,
  buffer_by_word: false,
};

const SENTENCE_END = /[.!?]\s*$/;

export interface TokenBuffer {
  /** Adds text; returns what is due to go out now, if anything. */
  push(text: string): string | null;
  /** Everything held (before another event, or at the end). */
  drain(): string | null;
}

export function tokenBuffer(config: BufferConfig, now: () => number = Date.now): TokenBuffer {
  let held = '';
  let lastFlush = now();
  const flush = () => {
    const out = held;
    held = '';
    lastFlush = now();
    return out || null;
  };
  return {
    push(text) {
      held += text;
      if (held.length >= config.max_chunk_size) return flush();
      if (config.buffer_by_sentence && SENTENCE_END.test(held)) return flush();
      if (config.buffer_by_word && held.endsWith(' ')) return flush();
      if (now() - lastFlush >= config.flush_interval_ms && held.length >= config.min_chunk_size) return flush();
      return null;
    },
    drain: flush,
  };
}
