/**
 * Example 9: write the answer to a file as it streams (each piece reaches the file at once).
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/09-stream-to-file.ts [output-file]   (default blog_post.txt)
 */
import { open } from 'node:fs/promises';
import { client, model } from './config';

const outputFile = process.argv[2] ?? 'blog_post.txt';
const jobId = await client.createJob('content_generation');

const file = await open(outputFile, 'w');
try {
  const stream = await client.chatStream(jobId, {
    model,
    messages: [{ role: 'user', content: 'Write a technical blog post about microservices (500 words)' }],
    temperature: 0.8,
  });
  for await (const chunk of stream) {
    const content = chunk.choices[0]?.delta.content;
    if (content) {
      await file.write(content);
      process.stdout.write(content);
    }
  }
} finally {
  await file.close();
}

console.log(`\n\nContent saved to: ${outputFile}`);
await client.completeJob(jobId, 'completed');
