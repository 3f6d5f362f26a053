/** Wire fixtures shared by the fake upstream (Node) and the tests (workerd). */

const chunk = (model: string, delta: object, finish: string | null = null) =>
  JSON.stringify({
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

/** The exact events `answer` streams: role, three words, finish, usage, [DONE]. */
export function answerEvents(model: string): string[] {
  return [
    chunk(model, { role: 'assistant', content: '' }),
    chunk(model, { content: 'Héllo' }),
    chunk(model, { content: ' wörld' }),
    chunk(model, { content: ' 🚀' }),
    chunk(model, {}, 'stop'),
    JSON.stringify({
      id: 'chatcmpl-fake',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model,
      choices: [],
      usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 },
    }),
    '[DONE]',
  ];
}

/**
 * `n` OpenAI-format content events, the i-th (from `from`) saying `t<i> `: their bytes and the
 * text they spell out. For the streaming stages' own tests, which feed bytes by hand.
 */
export function contentEvents(n: number, from = 0): { bytes: Uint8Array; text: string } {
  let body = '';
  let text = '';
  for (let i = from; i < from + n; i++) {
    const token = `t${i} `;
    text += token;
    body += `data: ${chunk('m', { content: token })}\n\n`;
  }
  return { bytes: new TextEncoder().encode(body), text };
}

/** The `huge` scenario: 250 chunks of 11,500 UTF-8 bytes each (2.9 MB), 2- and 4-byte characters included. */
export const HUGE_PIECE = 'Héllo wörld 🚀 '.repeat(500).padEnd(9_500, '.');
export const HUGE_CHUNKS = 250;
/** Its tool call's arguments: 2.2 MB of JSON text. */
export const HUGE_ARGUMENTS = JSON.stringify({
  rows: Array.from({ length: 100_000 }, (_, i) => `r${i}`.padEnd(20, 'x')),
});
