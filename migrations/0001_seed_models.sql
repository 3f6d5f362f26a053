-- The built-in model catalog. Prices are USD per 1M tokens (input, output), list prices.
INSERT INTO `models` (`alias`, `provider`, `upstream_model`, `input_price_per_mtok`, `output_price_per_mtok`) VALUES
  ('mock', 'mock', 'mock-1', 0.0, 0.0),
  ('gpt-4o-mini', 'openai', 'gpt-4o-mini', 0.15, 0.60),
  ('gpt-4o', 'openai', 'gpt-4o', 2.50, 10.00);
