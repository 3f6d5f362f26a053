import { z } from '@hono/zod-openapi';
import { JOB_STATUSES } from '../db/schema';
import { CallSummary, Costs } from './jobs';
import { PageQueryShape, page } from './pagination';

const iso = z.string().openapi({ format: 'date-time' });
const Metadata = z.record(z.string(), z.unknown());

export const UsageQuery = z.object({
  period: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'period must be YYYY-MM')
    .optional()
    .openapi({ param: { name: 'period', in: 'query' }, description: 'A UTC month, YYYY-MM; default this month' }),
});

const Counts = {
  jobs: z.number().int().openapi({ description: 'Jobs created in the period' }),
  successful: z.number().int().openapi({ description: 'Of those, completed' }),
  failed: z.number().int().openapi({ description: 'Of those, failed or cancelled' }),
  calls: z.number().int().openapi({ description: 'LLM calls made in the period' }),
  tokens: z.number().int(),
  cost_usd: z.number().openapi({ description: 'At the catalog list prices' }),
  credits: z.number().int().openapi({ description: 'Credits charged in the period (charge and usage ledger rows)' }),
};

export const UsageResponse = z
  .object({
    team_id: z.string(),
    period: z.string(),
    from: iso,
    to: iso.openapi({ description: 'Exclusive' }),
    totals: z.object(Counts),
    by_job_type: z.array(z.object({ job_type: z.string(), ...Counts })),
    by_model: z.array(
      z.object({
        model: z.string().openapi({ description: 'The alias that answered' }),
        calls: z.number().int(),
        successful: z.number().int(),
        failed: z.number().int(),
        tokens: z.number().int(),
        cost_usd: z.number(),
      }),
    ),
  })
  .openapi('Usage');

export const JobListQuery = z.object({
  status: z
    .enum(JOB_STATUSES)
    .optional()
    .openapi({ param: { name: 'status', in: 'query' } }),
  ...PageQueryShape,
});

export const JobSummary = z
  .object({
    job_id: z.string(),
    team_id: z.string(),
    job_type: z.string(),
    user_id: z.string().nullable(),
    status: z.enum(JOB_STATUSES),
    metadata: Metadata.nullable(),
    error_message: z.string().nullable(),
    credits_charged: z.number().int(),
    created_at: iso,
    completed_at: iso.nullable(),
  })
  .openapi('JobSummary');

export const JobPage = page(JobSummary, 'JobPage');

export const JobCostsResponse = z
  .object({ job_id: z.string(), status: z.enum(JOB_STATUSES), costs: Costs, calls: z.array(CallSummary) })
  .openapi('JobCostsBreakdown');

export const MetadataBody = z
  .object({
    metadata: Metadata.openapi({
      description: 'Merged into the job metadata (JSON merge patch: a null value removes that key)',
    }),
  })
  .openapi('MetadataPatch');

export const MetadataResponse = z.object({ job_id: z.string(), metadata: Metadata }).openapi('JobMetadata');

const Day = z.iso.date();

export const ReportsQuery = z.object({
  from: Day.optional().openapi({
    param: { name: 'from', in: 'query' },
    description: 'First day (UTC, YYYY-MM-DD); default 29 days before `to`',
  }),
  to: Day.optional().openapi({
    param: { name: 'to', in: 'query' },
    description: 'Last day, included; default yesterday',
  }),
});

export const Report = z
  .object({
    day: z.string(),
    jobs: z.number().int(),
    calls: z.number().int(),
    tokens: z.number().int(),
    cost_usd: z.number(),
    credits_charged: z.number().int(),
    credits_remaining: z.number().int().openapi({ description: 'Available credits when the report was written' }),
    low_credits: z.boolean(),
    top_models: z.array(z.object({ model: z.string(), calls: z.number().int(), tokens: z.number().int() })),
    created_at: iso,
  })
  .openapi('DailyReport');

export const ReportsResponse = z
  .object({ team_id: z.string(), from: z.string(), to: z.string(), data: z.array(Report) })
  .openapi('DailyReports');
