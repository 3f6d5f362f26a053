-- Anthropic and Gemini models, at list prices (USD per 1M input / output tokens).
INSERT INTO `models` (`alias`, `provider`, `upstream_model`, `input_price_per_mtok`, `output_price_per_mtok`) VALUES
  ('claude-sonnet-4', 'anthropic', 'claude-sonnet-4-20250514', 3.00, 15.00),
  ('claude-3-5-haiku', 'anthropic', 'claude-3-5-haiku-20241022', 0.80, 4.00),
  ('gemini-2.0-flash', 'gemini', 'gemini-2.0-flash', 0.10, 0.40),
  ('gemini-2.5-flash', 'gemini', 'gemini-2.5-flash', 0.30, 2.50);
