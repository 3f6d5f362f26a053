/**
 * Example 1: basic streaming. Print the answer as it arrives, then complete the job.
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/01-basic.ts
 */
import { client, model } from './config';

const jobId = await client.createJob('streaming_demo');

process.stdout.write('Assistant: ');
const stream = await client.chatStream(jobId, {
  model,
  messages: [{ role: 'user', content: 'Write a short poem about Python' }],
});
for await (const chunk of stream) {
  const content = chunk.choices[0]?.delta.content;
  if (content) process.stdout.write(content);
}
console.log();

const result = await client.completeJob(jobId, 'completed');
console.log(`\nCredits remaining: ${result.costs.credits_remaining}`);
