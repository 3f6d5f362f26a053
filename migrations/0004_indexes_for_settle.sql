CREATE UNIQUE INDEX `credit_holds_one_per_call` ON `credit_holds` (`call_id`) WHERE call_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX `credit_ledger_job_idx` ON `credit_ledger` (`job_id`);