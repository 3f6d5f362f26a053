/** Organizations: named groups of teams. */
import { type Organization, organizations } from '../db/schema';
import { fromRow } from '../db/rows';
import { type SqlResult, batch, namedSql, rows, run, write } from '../db/statement';
import { conflict, notFound } from '../errors';

export interface OrganizationWithTeams {
  org: Organization;
  teams: number;
}

const WITH_TEAMS =
  'SELECT o.*, (SELECT count(*) FROM teams t WHERE t.organization_id = o.id) AS team_count FROM organizations o';

const withTeams = (query: string, values: Record<string, unknown>) => {
  const s = rows<Record<string, unknown>>(namedSql(query), values);
  return {
    ...s,
    read: (r: SqlResult): OrganizationWithTeams[] =>
      s.read(r).map((raw) => ({ org: fromRow(organizations, raw), teams: Number(raw.team_count) })),
  };
};

const byIdSql = `${WITH_TEAMS} WHERE o.id = :id`;
const pageSql = `${WITH_TEAMS} WHERE (:after IS NULL OR o.id > :after) ORDER BY o.id LIMIT :limit`;

export async function requireOrganization(d1: D1Database, id: string): Promise<OrganizationWithTeams> {
  const [row] = await run(d1, withTeams(byIdSql, { id }));
  if (!row) throw notFound('organization', id);
  return row;
}

export const organizationsPage = (after: string | null, limit: number) => withTeams(pageSql, { after, limit });

const insert = namedSql(
  'INSERT INTO organizations (id, name, created_at) VALUES (:id, :name, :now) ON CONFLICT DO NOTHING',
);

/** A new organization; 409 if the id is taken. */
export async function createOrganization(d1: D1Database, id: string, name: string, now: number) {
  if ((await run(d1, write(insert, { id, name, now }))) !== 1)
    throw conflict(`Organization '${id}' already exists`, 'organization_exists');
  return requireOrganization(d1, id);
}

const rename = namedSql('UPDATE organizations SET name = coalesce(:name, name) WHERE id = :id');

export async function renameOrganization(d1: D1Database, id: string, name: string | null) {
  await run(d1, write(rename, { id, name }));
  return requireOrganization(d1, id);
}

const memberCount = namedSql('SELECT count(*) AS n FROM teams WHERE organization_id = :id');
const deleteIfEmpty = namedSql(
  'DELETE FROM organizations WHERE id = :id AND NOT EXISTS (SELECT 1 FROM teams WHERE organization_id = :id)',
);

/** Deletes an organization with no teams; 404, or 409 while it has some. */
export async function deleteOrganization(d1: D1Database, id: string): Promise<void> {
  const [found, members, deleted] = await batch(d1, [
    withTeams(byIdSql, { id }),
    rows<{ n: number }>(memberCount, { id }),
    write(deleteIfEmpty, { id }),
  ]);
  if (!found[0]) throw notFound('organization', id);
  if (deleted !== 1)
    throw conflict(`Organization '${id}' still has ${members[0]?.n ?? 0} team(s)`, 'organization_not_empty');
}
