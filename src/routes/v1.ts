import { createRouter } from '../http/router';
import { chatCompletions } from './v1/chat-completions';
import { modelsApi } from './v1/models';

/** The OpenAI-compatible surface, mounted at `/v1` behind the virtual-key middleware (app.ts). */
export const v1 = createRouter();
v1.route('/', chatCompletions);
v1.route('/', modelsApi);
