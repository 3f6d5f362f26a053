/**
 * Example 10: a deadline for the whole stream. `AbortSignal.timeout(ms)` as the call's signal
 * stops the stream (and closes the request) when time is up; the client raises
 * `APITimeoutError`. (The client's own `timeoutMs` only bounds the wait for the first response.)
 *
 * The second run's deadline is shorter than the answer takes, on purpose.
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/10-timeout.ts
 */
import { APITimeoutError } from '../src/client';
import { client, model } from './config';

async function streamingWithTimeout(timeoutSeconds: number) {
  const jobId = await client.createJob('timeout_demo');
  try {
    const stream = await client.chatStream(jobId, {
      model,
      messages: [{ role: 'user', content: 'Explain blockchain technology' }],
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) process.stdout.write(content);
    }
    console.log(`\n\nStream completed within ${timeoutSeconds}s`);
    await client.completeJob(jobId, 'completed');
  } catch (err) {
    if (!(err instanceof APITimeoutError)) throw err;
    console.log(`\n\nStream exceeded ${timeoutSeconds}s timeout`);
    await client.completeJob(jobId, 'failed', { errorMessage: `timed out after ${timeoutSeconds}s` });
  }
}

await streamingWithTimeout(30);
await streamingWithTimeout(0.25);
