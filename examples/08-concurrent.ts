/**
 * Example 8: three streams at once, inside one job. Each answer is collected with
 * `stream.text()` and printed whole, so the answers do not interleave on screen.
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/08-concurrent.ts
 */
import { client, model } from './config';

const questions = ['What is machine learning?', 'What is deep learning?', 'What is a neural network?'];

const jobId = await client.createJob('faq_batch');
const started = performance.now();

async function streamQuestion(question: string) {
  const t0 = performance.now();
  const stream = await client.chatStream(jobId, {
    model,
    messages: [{ role: 'user', content: question }],
    temperature: 0.7,
  });
  const answer = await stream.text();
  return { question, answer, seconds: (performance.now() - t0) / 1000 };
}

const answers = await Promise.all(questions.map(streamQuestion));
const wall = (performance.now() - started) / 1000;

for (const { question, answer, seconds } of answers) {
  console.log(`\nQuestion: ${question}`);
  console.log(`Answer (${seconds.toFixed(2)}s): ${answer}`);
}

const result = await client.completeJob(jobId, 'completed');
const sequential = answers.reduce((s, a) => s + a.seconds, 0);
console.log(`\nAll questions answered in ${wall.toFixed(2)}s (${sequential.toFixed(2)}s one after another).`);
console.log(`Credits: ${result.costs.credits_remaining}`);
