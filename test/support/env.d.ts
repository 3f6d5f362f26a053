import type { D1Migration } from 'cloudflare:test';
import type { Env as SluiceEnv } from '../../src/env';

declare global {
  namespace Cloudflare {
    interface Env extends SluiceEnv {
      TEST_MIGRATIONS: D1Migration[];
      UPSTREAM_URL: string;
    }
    interface GlobalProps {
      mainModule: typeof import('../../src/index');
    }
  }
}
