/**
 * Example 5: analyse several documents, one streamed call each, all inside one job (so the
 * team pays one job's credits and the job's costs add the calls up).
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/05-multi-document.ts
 */
import { client, model } from './config';

const documents = [
  'AI is transforming healthcare with predictive diagnostics...',
  'Renewable energy sources are becoming more cost-effective...',
  'Remote work has changed how companies operate globally...',
];

const jobId = await client.createJob('batch_analysis');

for (const [i, document] of documents.entries()) {
  console.log(`\n${'='.repeat(60)}`);
  console.log(`Document ${i + 1}/${documents.length}`);
  console.log('='.repeat(60));
  process.stdout.write('Analysis: ');

  const stream = await client.chatStream(jobId, {
    model,
    messages: [
      { role: 'system', content: 'Provide concise analysis of documents' },
      { role: 'user', content: `Analyze this text:\n\n${document}` },
    ],
    temperature: 0.5,
    max_tokens: 200,
    purpose: `document-${i + 1}`,
  });
  for await (const chunk of stream) {
    const content = chunk.choices[0]?.delta.content;
    if (content) process.stdout.write(content);
  }
}

console.log(`\n\n${'='.repeat(60)}`);
const result = await client.completeJob(jobId, 'completed');
console.log(`Analysis complete! Analyzed ${documents.length} documents in ${result.costs.total_calls} calls`);
console.log(`Tokens: ${result.costs.total_tokens}, cost: $${result.costs.total_cost_usd}`);
console.log(`Credits remaining: ${result.costs.credits_remaining}`);
