import { z } from '@hono/zod-openapi';

const TeamId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'team_id may contain letters, digits, ".", "_" and "-"');

export const MAX_CREDIT_MOVE = 1_000_000_000;

export const CreateTeamBody = z
  .object({
    team_id: TeamId,
    name: z.string().min(1).max(200).optional(),
    credits: z.number().int().min(0).max(MAX_CREDIT_MOVE).optional(),
    credits_per_job: z.number().int().min(0).max(1_000_000).optional(),
  })
  .openapi('CreateTeamRequest');

export const TeamResponse = z
  .object({
    team_id: z.string(),
    name: z.string(),
    status: z.string(),
    budget_mode: z.string(),
    credits_per_job: z.number().int(),
    credits_balance: z.number().int(),
    credits_held: z.number().int(),
    credits_remaining: z.number().int(),
    created_at: z.string(),
  })
  .openapi('Team');

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

export const CreateKeyBody = z.object({ name: z.string().max(200).optional() }).openapi('CreateKeyRequest');

export const CreateKeyResponse = z
  .object({
    key_id: z.string(),
    key: z.string().openapi({ description: 'The secret. Shown only in this response; Sluice stores its hash.' }),
    prefix: z.string(),
    team_id: z.string(),
    name: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('CreatedKey');

export const KeyIdParam = z.object({
  key_id: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: 'key_id', in: 'path' } }),
});

export const RevokeKeyResponse = z
  .object({ key_id: z.string(), revoked: z.literal(true), revoked_at: z.string() })
  .openapi('RevokedKey');
