/**
 * Example 7: every failure has its own error class. A job whose call failed is completed as
 * `failed`, which releases its credit instead of charging it.
 *
 * The second and third runs fail on purpose: a model that does not exist (404) and a
 * temperature out of range (400).
 *
 *   SLUICE_KEY=sk-sluice-... npx tsx examples/07-error-handling.ts
 */
import {
  APIConnectionError,
  APITimeoutError,
  BadRequestError,
  type CallOptions,
  InsufficientCreditsError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  SluiceError,
  StreamError,
} from '../src/client';
import { client, model } from './config';

async function robustStreaming(title: string, overrides: Partial<CallOptions> = {}) {
  console.log(`\n--- ${title} ---`);
  const jobId = await client.createJob('resilient_chat');
  let chunkCount = 0;
  try {
    const stream = await client.chatStream(jobId, {
      model,
      messages: [{ role: 'user', content: 'Explain Docker containers' }],
      temperature: 0.7,
      ...overrides,
    });
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) {
        chunkCount += 1;
        process.stdout.write(content);
      }
    }
    console.log(`\n\nStream completed successfully (${chunkCount} chunks)`);
    await client.completeJob(jobId, 'completed');
  } catch (err) {
    if (!(err instanceof SluiceError)) throw err;
    console.log(`\nCaught ${err.name} (status ${err.status ?? '-'}, code ${err.code}, request ${err.requestId})`);
    if (err instanceof InsufficientCreditsError) console.log('Not enough credits: top up the team');
    else if (err instanceof PermissionDeniedError) console.log('Access denied: check the team id and the key');
    else if (err instanceof RateLimitError) console.log(`Rate limited: retry in ${err.retryAfter ?? 1}s`);
    else if (err instanceof NotFoundError) console.log(`Not found: ${err.message}`);
    else if (err instanceof BadRequestError) console.log(`Bad request (${err.param}): ${err.message}`);
    else if (err instanceof StreamError) console.log(`The stream failed after ${chunkCount} chunks: ${err.message}`);
    else if (err instanceof APITimeoutError) console.log('Timed out waiting for the gateway');
    else if (err instanceof APIConnectionError) console.log(`Gateway unreachable: ${err.message}`);
    else console.log(`Unexpected error: ${err.message}`);
    const { costs } = await client.completeJob(jobId, 'failed', { errorMessage: err.message });
    console.log(`Job completed as failed; credits charged: ${costs.credits_charged}`);
  }
}

await robustStreaming('A normal call');
await robustStreaming('A model that does not exist', { model: 'no-such-model' });
await robustStreaming('A temperature out of range', { temperature: 5 });
