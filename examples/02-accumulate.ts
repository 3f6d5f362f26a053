/**
 * Example 2: show the answer while keeping all of it for later use.
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/02-accumulate.ts
 */
import { client, model } from './config';

const jobId = await client.createJob('chat');

let fullResponse = '';
const stream = await client.chatStream(jobId, {
  model,
  messages: [{ role: 'user', content: 'Explain quantum computing in 2 sentences' }],
  temperature: 0.7,
});
for await (const chunk of stream) {
  const content = chunk.choices[0]?.delta.content;
  if (content) {
    fullResponse += content;
    process.stdout.write(content);
  }
}

// The stream keeps its own total too: `await stream.text()` equals what was accumulated here.
const usage = await stream.finalUsage();
console.log(`\n\nFull response length: ${fullResponse.length} characters`);
console.log(`Tokens: ${usage?.prompt_tokens} in, ${usage?.completion_tokens} out`);

await client.completeJob(jobId, 'completed');
