import { createRouter } from '../http/router';
import { adminKey } from '../middleware/auth';
import { adminKeys } from './admin-keys';
import { adminModels } from './admin-models';
import { adminOrganizations } from './admin-organizations';
import { adminTeams } from './admin-teams';

/** The operator's side, mounted at `/admin`: every route needs `X-Admin-Key`. */
export const admin = createRouter();
admin.use('*', adminKey);

admin.route('/', adminOrganizations);
admin.route('/', adminTeams);
admin.route('/', adminKeys);
admin.route('/', adminModels);
