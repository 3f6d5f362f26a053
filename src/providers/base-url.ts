import type { ProviderAccess } from '../config';
import type { Target } from './types';

/** The catalog row's own `base_url` wins over the provider's configured one; no trailing `/`. */
export const baseUrlOf = (target: Target, access: ProviderAccess) =>
  (target.baseUrl ?? access.baseUrl).replace(/\/+$/, '');
