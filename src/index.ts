import { createApp } from './app';
import type { Env } from './env';
import { scheduled } from './scheduled';

const app = createApp();

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<Env>;

export { app };
export { CallStream } from './resumable/call-stream';
export { Account } from './accounts/account/object';
