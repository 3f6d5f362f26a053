/**
 * What every example shares: a client for the gateway `npm start` runs, from the environment.
 *
 *   SLUICE_KEY   a virtual key (required; `npm start` prints a demo key)
 *   SLUICE_URL   default http://127.0.0.1:8787
 *   SLUICE_TEAM  default acme-corp
 *   SLUICE_MODEL default mock (the built-in model: no provider key needed)
 */
import { SluiceClient } from '../src/client';

const apiKey = process.env.SLUICE_KEY;
if (!apiKey) {
  console.error('Set SLUICE_KEY to a virtual key: `npm start` prints a demo key ("Demo key: sk-sluice-...").');
  process.exit(1);
}

export const client = new SluiceClient({
  baseUrl: process.env.SLUICE_URL ?? 'http://127.0.0.1:8787',
  apiKey,
  teamId: process.env.SLUICE_TEAM ?? 'acme-corp',
});

export const model = process.env.SLUICE_MODEL ?? 'mock';
