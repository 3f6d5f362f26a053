/**
 * Example 6: statistics while streaming: time to first token, chunks, characters, speed.
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/06-progress.ts
 */
import { client, model } from './config';

const jobId = await client.createJob('story_generation');

console.log('Generating story...\n');
console.log('-'.repeat(60));

const start = performance.now();
let firstTokenAt: number | null = null;
let charCount = 0;
let chunkCount = 0;

const stream = await client.chatStream(jobId, {
  model,
  messages: [{ role: 'user', content: 'Write a short sci-fi story (3 paragraphs)' }],
  temperature: 1.0,
});
for await (const chunk of stream) {
  const content = chunk.choices[0]?.delta.content;
  if (content) {
    firstTokenAt ??= performance.now();
    charCount += content.length;
    chunkCount += 1;
    process.stdout.write(content);
  }
}

const elapsed = (performance.now() - start) / 1000;
console.log(`\n${'-'.repeat(60)}`);
console.log('\nStatistics:');
console.log(`  First token: ${firstTokenAt === null ? 'none' : `${Math.round(firstTokenAt - start)} ms`}`);
console.log(`  Chunks received: ${chunkCount}`);
console.log(`  Characters: ${charCount}`);
console.log(`  Time: ${elapsed.toFixed(2)}s`);
console.log(`  Speed: ${(charCount / elapsed).toFixed(1)} chars/sec`);

await client.completeJob(jobId, 'completed');
