/**
 * Example 3: an interactive chat. One job holds the whole conversation; every turn sends the
 * history so far. Type `quit` (or end the input) to stop.
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/03-multi-turn.ts
 *   printf 'What is Sluice?\nAnd how are credits charged?\nquit\n' | SLUICE_KEY=... npx tsx examples/03-multi-turn.ts
 */
import { createInterface } from 'node:readline';
import type { ChatMessage } from '../src/client';
import { client, model } from './config';

const jobId = await client.createJob('chat_session');
const messages: ChatMessage[] = [];
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();

console.log("Interactive Chat (type 'quit' to exit)");
console.log('-'.repeat(50));

let failed: unknown = null;
for (;;) {
  process.stdout.write('\nYou: ');
  const next = await lines.next();
  if (next.done) break;
  const userInput = next.value.trim();
  // Piped input is not echoed by a terminal; print it so the transcript reads as a conversation.
  if (!process.stdin.isTTY) console.log(userInput);
  if (['quit', 'exit', 'bye'].includes(userInput.toLowerCase())) {
    console.log('Goodbye!');
    break;
  }
  if (!userInput) continue;

  messages.push({ role: 'user', content: userInput });
  process.stdout.write('Assistant: ');
  try {
    const stream = await client.chatStream(jobId, { model, messages, temperature: 0.7 });
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) process.stdout.write(content);
    }
    messages.push({ role: 'assistant', content: await stream.text() });
    console.log();
  } catch (err) {
    console.log(`\nError: ${(err as Error).message}`);
    failed = err;
    break;
  }
}
input.close();

const result = await client.completeJob(jobId, failed ? 'failed' : 'completed', {
  errorMessage: failed ? String((failed as Error).message) : undefined,
});
console.log(`\n\nChat ended. Total messages: ${messages.length}`);
console.log(`Credits remaining: ${result.costs.credits_remaining}`);
