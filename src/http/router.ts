import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './context';
import { badRequest } from '../errors';

/** A sub-app whose validation failures become 400s naming the offending field. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        const param = issue?.path.length ? issue.path.join('.') : null;
        throw badRequest(issue ? `${param ? `${param}: ` : ''}${issue.message}` : 'Invalid request', param);
      }
    },
  });
}
