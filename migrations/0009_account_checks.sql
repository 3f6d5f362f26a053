CREATE TABLE `account_checks` (
	`team_id` text PRIMARY KEY NOT NULL,
	`checked_at` integer NOT NULL,
	`in_step` integer NOT NULL,
	`pending` integer DEFAULT 0 NOT NULL,
	`differences` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `account_checks_in_step_idx` ON `account_checks` (`in_step`,`team_id`);