ALTER TABLE `llm_calls` ADD `cached_input_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `llm_calls` ADD `cache_write_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `llm_calls` ADD `reasoning_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `models` ADD `cached_input_price_per_mtok` real;--> statement-breakpoint
ALTER TABLE `models` ADD `cache_write_price_per_mtok` real;--> statement-breakpoint
-- List prices of the built-in catalog's cache classes (USD per 1M tokens). Anthropic: a cache
-- read is 0.1x input, a (5-minute) cache write 1.25x. OpenAI: cached input is half price and
-- writing the cache costs nothing extra. Gemini: cached input is a quarter. `mock` stays free.
UPDATE `models` SET `cached_input_price_per_mtok` = 0.30, `cache_write_price_per_mtok` = 3.75 WHERE `alias` = 'claude-sonnet-4';--> statement-breakpoint
UPDATE `models` SET `cached_input_price_per_mtok` = 0.08, `cache_write_price_per_mtok` = 1.00 WHERE `alias` = 'claude-3-5-haiku';--> statement-breakpoint
UPDATE `models` SET `cached_input_price_per_mtok` = 0.075 WHERE `alias` = 'gpt-4o-mini';--> statement-breakpoint
UPDATE `models` SET `cached_input_price_per_mtok` = 1.25 WHERE `alias` = 'gpt-4o';--> statement-breakpoint
UPDATE `models` SET `cached_input_price_per_mtok` = 0.025 WHERE `alias` = 'gemini-2.0-flash';--> statement-breakpoint
UPDATE `models` SET `cached_input_price_per_mtok` = 0.075 WHERE `alias` = 'gemini-2.5-flash';
