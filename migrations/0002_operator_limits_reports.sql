CREATE TABLE `active_streams` (
	`call_id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`started_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `active_streams_team_idx` ON `active_streams` (`team_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `credit_reports` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`day` text NOT NULL,
	`jobs` integer NOT NULL,
	`calls` integer NOT NULL,
	`tokens` integer NOT NULL,
	`cost_usd` real NOT NULL,
	`credits_charged` integer NOT NULL,
	`credits_remaining` integer NOT NULL,
	`top_models` text,
	`low_credits` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `credit_reports_team_day_idx` ON `credit_reports` (`team_id`,`day`);--> statement-breakpoint
CREATE TABLE `organizations` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rate_windows` (
	`scope` text NOT NULL,
	`window_start` integer NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`tokens` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`scope`, `window_start`)
);
--> statement-breakpoint
ALTER TABLE `api_keys` ADD `expires_at` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `allowed_models` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `rpm_limit` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `tpm_limit` integer;--> statement-breakpoint
ALTER TABLE `credit_holds` ADD `call_id` text;--> statement-breakpoint
CREATE INDEX `credit_holds_team_status_idx` ON `credit_holds` (`team_id`,`status`);--> statement-breakpoint
ALTER TABLE `credit_ledger` ADD `call_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `credit_ledger_one_usage_per_call` ON `credit_ledger` (`call_id`) WHERE kind = 'usage';--> statement-breakpoint
ALTER TABLE `llm_calls` ADD `served_by` text;--> statement-breakpoint
ALTER TABLE `llm_calls` ADD `attempts` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `models` ADD `fallbacks` text;--> statement-breakpoint
ALTER TABLE `models` ADD `updated_at` integer;--> statement-breakpoint
ALTER TABLE `teams` ADD `organization_id` text REFERENCES organizations(id);--> statement-breakpoint
ALTER TABLE `teams` ADD `credits_per_dollar` real DEFAULT 100 NOT NULL;--> statement-breakpoint
ALTER TABLE `teams` ADD `tokens_per_credit` integer DEFAULT 1000 NOT NULL;--> statement-breakpoint
ALTER TABLE `teams` ADD `rpm_limit` integer;--> statement-breakpoint
ALTER TABLE `teams` ADD `tpm_limit` integer;--> statement-breakpoint
ALTER TABLE `teams` ADD `max_concurrent_streams` integer;--> statement-breakpoint
ALTER TABLE `teams` ADD `allowed_models` text;--> statement-breakpoint
ALTER TABLE `teams` ADD `low_credit_threshold` integer;--> statement-breakpoint
ALTER TABLE `teams` ADD `updated_at` integer;