import { createRouter } from '../http/router';
import { chatCompletions } from './v1/chat-completions';
import { messagesApi } from './v1/messages';
import { modelsApi } from './v1/models';
import { responsesApi } from './v1/responses';

/** The provider-compatible surface, mounted at `/v1` behind the virtual-key middleware (app.ts). */
export const v1 = createRouter();
v1.route('/', chatCompletions);
v1.route('/', messagesApi);
v1.route('/', modelsApi);
v1.route('/', responsesApi);

/** The requests answered in Anthropic's dialect, errors included. */
export const isAnthropicPath = (path: string) => path === '/v1/messages' || path.startsWith('/v1/messages/');
