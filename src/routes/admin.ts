import { createRouter } from '../http/router';
import { adminKeys } from './admin/keys';
import { adminModels } from './admin/models';
import { adminOrganizations } from './admin/organizations';
import { adminReconciliation } from './admin/reconciliation';
import { adminTeams } from './admin/teams';

/** The operator's surface, mounted at `/admin` behind the admin-key middleware (app.ts). */
export const admin = createRouter();
admin.route('/', adminOrganizations);
admin.route('/', adminTeams);
admin.route('/', adminKeys);
admin.route('/', adminModels);
admin.route('/', adminReconciliation);
