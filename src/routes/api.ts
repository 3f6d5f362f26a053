import { createRouter } from '../http/router';
import { callsApi } from './api/calls';
import { jobsApi } from './api/jobs';
import { reportsApi } from './api/reports';
import { teamsApi } from './api/teams';
import { usageApi } from './api/usage';
import { wsApi } from './api/ws';

/** The team surface, mounted at `/api` behind the virtual-key middleware (app.ts). */
export const api = createRouter();
api.route('/', jobsApi);
api.route('/', callsApi);
api.route('/', teamsApi);
api.route('/', usageApi);
api.route('/', reportsApi);
api.route('/', wsApi);
