import { z } from '@hono/zod-openapi';
import { BUDGET_MODES, LEDGER_KINDS } from '../db/schema';
import { PROVIDER_NAMES } from '../providers/registry';
import { PageQueryShape, page } from './pagination';

const Slug = (what: string) =>
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, `${what} may contain letters, digits, ".", "_" and "-"`);

const TeamId = Slug('team_id');
const OrganizationId = Slug('organization_id');

/** Catalog aliases: what callers put in `model`. No "/" so an alias is one path segment. */
export const ModelAlias = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._:-]*$/, 'aliases may contain letters, digits, ".", "_", ":" and "-"');

export const MAX_CREDIT_MOVE = 1_000_000_000;
const Limit = z.number().int().min(1).max(1_000_000_000);
const AliasList = z
  .array(ModelAlias)
  .max(200)
  .openapi({ description: 'Catalog aliases allowed; null means every alias' });

const iso = z.string().openapi({ format: 'date-time' });

// ---- organizations -------------------------------------------------------------------------

export const OrganizationIdParam = z.object({
  organization_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'organization_id', in: 'path' } }),
});

export const CreateOrganizationBody = z
  .object({ organization_id: OrganizationId, name: z.string().min(1).max(200).optional() })
  .openapi('CreateOrganizationRequest');

export const UpdateOrganizationBody = z
  .object({ name: z.string().min(1).max(200).optional() })
  .openapi('UpdateOrganizationRequest');

export const OrganizationResponse = z
  .object({ organization_id: z.string(), name: z.string(), teams: z.number().int(), created_at: iso })
  .openapi('Organization');

export const OrganizationPage = page(OrganizationResponse, 'OrganizationPage');

export const OrganizationListQuery = z.object(PageQueryShape);

// ---- teams ---------------------------------------------------------------------------------

/** Everything an operator may set on a team, at creation or later with PATCH. */
const TeamSettingsShape = {
  name: z.string().min(1).max(200),
  organization_id: OrganizationId.nullable(),
  budget_mode: z.enum(BUDGET_MODES),
  credits_per_job: z.number().int().min(0).max(1_000_000),
  credits_per_dollar: z.number().positive().max(1_000_000_000),
  tokens_per_credit: z.number().int().min(1).max(1_000_000_000),
  rpm_limit: Limit.nullable(),
  tpm_limit: Limit.nullable(),
  max_concurrent_streams: z.number().int().min(1).max(100_000).nullable(),
  allowed_models: AliasList.nullable(),
  low_credit_threshold: z.number().int().min(0).max(MAX_CREDIT_MOVE).nullable(),
  /** Streams are resumable unless a request sets `resumable: false`. */
  resumable_by_default: z.boolean(),
};

export const CreateTeamBody = z
  .object({
    team_id: TeamId,
    credits: z.number().int().min(0).max(MAX_CREDIT_MOVE).optional(),
    ...z.object(TeamSettingsShape).partial().shape,
  })
  .openapi('CreateTeamRequest');

export const UpdateTeamBody = z.object(TeamSettingsShape).partial().openapi('UpdateTeamRequest');
export type TeamSettings = z.infer<typeof UpdateTeamBody>;

export const TeamResponse = z
  .object({
    team_id: z.string(),
    name: z.string(),
    organization_id: z.string().nullable(),
    status: z.enum(['active', 'suspended']),
    budget_mode: z.enum(BUDGET_MODES),
    credits_per_job: z.number().int(),
    credits_per_dollar: z.number(),
    tokens_per_credit: z.number().int(),
    rpm_limit: z.number().int().nullable(),
    tpm_limit: z.number().int().nullable(),
    max_concurrent_streams: z.number().int().nullable(),
    allowed_models: z.array(z.string()).nullable(),
    low_credit_threshold: z.number().int().nullable(),
    resumable_by_default: z.boolean(),
    credits_balance: z.number().int(),
    credits_held: z.number().int(),
    credits_remaining: z.number().int(),
    created_at: iso,
    updated_at: iso.nullable(),
  })
  .openapi('Team');

export const TeamPage = page(TeamResponse, 'TeamPage');

export const TeamListQuery = z.object({
  organization_id: z
    .string()
    .max(64)
    .optional()
    .openapi({ param: { name: 'organization_id', in: 'query' } }),
  status: z
    .enum(['active', 'suspended'])
    .optional()
    .openapi({ param: { name: 'status', in: 'query' } }),
  ...PageQueryShape,
});

export const DeletedTeamResponse = z.object({ team_id: z.string(), deleted: z.literal(true) }).openapi('DeletedTeam');

// ---- credits -------------------------------------------------------------------------------

export const AddCreditsBody = z
  .object({
    credits: z
      .number()
      .int()
      .min(-MAX_CREDIT_MOVE)
      .max(MAX_CREDIT_MOVE)
      .refine((n) => n !== 0, 'credits must not be 0'),
    reason: z.string().max(500).optional(),
  })
  .openapi('AddCreditsRequest');

const DateOrTime = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .openapi({ description: 'YYYY-MM-DD (a whole UTC day) or an ISO 8601 timestamp' });

export const TransactionsQuery = z.object({
  kind: z
    .enum(LEDGER_KINDS)
    .optional()
    .openapi({ param: { name: 'kind', in: 'query' } }),
  from: DateOrTime.optional().openapi({ param: { name: 'from', in: 'query' } }),
  to: DateOrTime.optional().openapi({ param: { name: 'to', in: 'query' } }),
  ...PageQueryShape,
});

export const Transaction = z
  .object({
    id: z.string(),
    kind: z.enum(LEDGER_KINDS),
    amount: z.number().int().openapi({ description: 'Signed change to the balance' }),
    reason: z.string().nullable(),
    job_id: z.string().nullable(),
    call_id: z.string().nullable(),
    created_at: iso,
  })
  .openapi('Transaction');

export const TransactionPage = page(Transaction, 'TransactionPage');

export const LowCreditTeam = z
  .object({
    team_id: z.string(),
    name: z.string(),
    status: z.enum(['active', 'suspended']),
    credits_remaining: z.number().int(),
    low_credit_threshold: z.number().int(),
  })
  .openapi('LowCreditTeam');

export const LowCreditsResponse = z.object({ data: z.array(LowCreditTeam) }).openapi('LowCreditAlerts');

// ---- keys ----------------------------------------------------------------------------------

export const KeyIdParam = z.object({
  key_id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'key_id', in: 'path' } }),
});

export const CreateKeyBody = z
  .object({
    name: z.string().max(200).optional(),
    expires_at: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: 'From this instant the key gets 401 key_expired' }),
    allowed_models: AliasList.nullable().optional(),
    rpm_limit: Limit.nullable().optional(),
    tpm_limit: Limit.nullable().optional(),
  })
  .openapi('CreateKeyRequest');

const KeyShape = {
  key_id: z.string(),
  team_id: z.string(),
  name: z.string().nullable(),
  prefix: z.string().openapi({ description: 'The first characters of the secret, to recognise it' }),
  status: z.enum(['active', 'expired', 'revoked']),
  created_at: iso,
  expires_at: iso.nullable(),
  revoked_at: iso.nullable(),
  last_used_at: iso.nullable().openapi({ description: 'Updated at most once a minute' }),
  allowed_models: z.array(z.string()).nullable(),
  rpm_limit: z.number().int().nullable(),
  tpm_limit: z.number().int().nullable(),
};

export const KeyResponse = z.object(KeyShape).openapi('Key');
export const KeyList = z.object({ data: z.array(KeyResponse) }).openapi('KeyList');

export const CreateKeyResponse = z
  .object({
    ...KeyShape,
    key: z.string().openapi({ description: 'The secret. Shown only in this response; Sluice stores its hash.' }),
  })
  .openapi('CreatedKey');

export const RevokeKeyResponse = z
  .object({ key_id: z.string(), revoked: z.literal(true), revoked_at: iso })
  .openapi('RevokedKey');

export const MAX_GRACE_SECONDS = 30 * 24 * 3600;

export const RotateKeyBody = z
  .object({
    grace_period_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_GRACE_SECONDS)
      .optional()
      .openapi({ description: 'How long the old secret keeps working; 0 or absent revokes it now' }),
  })
  .openapi('RotateKeyRequest');

export const RotateKeyResponse = z
  .object({
    ...KeyShape,
    key: z.string().openapi({ description: 'The new secret, shown only in this response' }),
    replaced: z.object({ key_id: z.string(), expires_at: iso.nullable(), revoked_at: iso.nullable() }),
  })
  .openapi('RotatedKey');

// ---- model catalog -------------------------------------------------------------------------

export const ModelAliasParam = z.object({
  alias: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'alias', in: 'path' } }),
});

const Price = z.number().min(0).max(1_000_000).openapi({ description: 'USD per 1M tokens' });
const cachePrice = (tokens: string) =>
  z
    .number()
    .min(0)
    .max(1_000_000)
    .nullable()
    .openapi({ description: `USD per 1M prompt tokens ${tokens}; null charges them the input price` });
const CachedInputPrice = cachePrice("read from the provider's prompt cache");
const CacheWritePrice = cachePrice("written to the provider's prompt cache");

const ModelSettingsShape = {
  provider: z.enum(PROVIDER_NAMES),
  upstream_model: z.string().min(1).max(200),
  base_url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable()
    .openapi({ description: "Overrides the provider's base URL (http or https); null uses the provider's" }),
  input_price_per_mtok: Price,
  output_price_per_mtok: Price,
  cached_input_price_per_mtok: CachedInputPrice,
  cache_write_price_per_mtok: CacheWritePrice,
  fallbacks: z
    .array(ModelAlias)
    .max(10)
    .refine((list) => new Set(list).size === list.length, 'fallbacks must not repeat an alias')
    .nullable()
    .openapi({ description: 'Existing aliases tried in order when this one fails before its first byte' }),
  enabled: z.boolean(),
};

export const CreateModelBody = z
  .object({
    alias: ModelAlias,
    provider: ModelSettingsShape.provider,
    upstream_model: ModelSettingsShape.upstream_model,
    base_url: ModelSettingsShape.base_url.optional(),
    input_price_per_mtok: Price.default(0),
    output_price_per_mtok: Price.default(0),
    cached_input_price_per_mtok: CachedInputPrice.default(null),
    cache_write_price_per_mtok: CacheWritePrice.default(null),
    fallbacks: ModelSettingsShape.fallbacks.optional(),
    enabled: z.boolean().default(true),
  })
  .openapi('CreateModelRequest');

export const UpdateModelBody = z.object(ModelSettingsShape).partial().openapi('UpdateModelRequest');

export const ModelResponse = z
  .object({
    alias: z.string(),
    provider: z.string(),
    upstream_model: z.string(),
    base_url: z.string().nullable(),
    input_price_per_mtok: z.number(),
    output_price_per_mtok: z.number(),
    cached_input_price_per_mtok: z.number().nullable(),
    cache_write_price_per_mtok: z.number().nullable(),
    fallbacks: z.array(z.string()),
    enabled: z.boolean(),
    created_at: iso,
    updated_at: iso.nullable(),
  })
  .openapi('Model');

export const ModelCatalog = z.object({ data: z.array(ModelResponse) }).openapi('ModelCatalog');

export const DeletedModelResponse = z.object({ alias: z.string(), deleted: z.literal(true) }).openapi('DeletedModel');

export const AccountCheckResponse = z
  .object({
    team_id: z.string(),
    checked_at: iso,
    in_step: z.boolean().openapi({ description: 'The account and D1 agreed and nothing was waiting to be copied' }),
    pending: z.number().int().openapi({ description: 'Changes the account had not copied to D1 yet' }),
    differences: z.array(z.string()),
  })
  .openapi('AccountCheck');

export const AccountCheckPage = page(AccountCheckResponse, 'AccountCheckPage');

export const ReconcileQuery = z.object({
  team_id: z
    .string()
    .max(64)
    .optional()
    .openapi({ param: { name: 'team_id', in: 'query' }, description: 'Check this team only' }),
});

export const ReconcileResponse = z
  .object({
    checked: z.number().int(),
    differing: z.number().int(),
    errors: z.number().int(),
    differences: z
      .array(AccountCheckResponse)
      .openapi({ description: 'The teams found apart by this run (a single team: its check)' }),
  })
  .openapi('ReconcileResult');
