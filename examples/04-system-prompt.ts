/**
 * Example 4: a system prompt sets the tone of the answer.
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/04-system-prompt.ts
 */
import { client, model } from './config';

const jobId = await client.createJob('tutoring');

const stream = await client.chatStream(jobId, {
  model,
  messages: [
    { role: 'system', content: 'You are a patient Python tutor. Explain concepts simply with code examples.' },
    { role: 'user', content: 'How do I read a CSV file in Python?' },
  ],
  temperature: 0.7,
});
for await (const chunk of stream) {
  const content = chunk.choices[0]?.delta.content;
  if (content) process.stdout.write(content);
}
console.log();

await client.completeJob(jobId, 'completed');
