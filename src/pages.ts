/**
 * Loads the browser pages' module (scripts/build-pages.mjs builds it from public/; wrangler
 * uploads it as its own module, see `rules` in wrangler.toml). Like tokenizer.ts, this file sits
 * at the root of src/ so that the relative specifier names the same file from the source tree
 * and from the bundle's root, and the specifier is not a literal so that the bundler leaves the
 * pages out of the Worker's own code. Only a request for a page evaluates them.
 */
export interface SiteFile {
  type: string;
  etag: string;
  body: string;
}

const SITE_MODULE = './pages/site.generated.js';

let loading: Promise<Record<string, SiteFile>> | null = null;

export const loadSite = (): Promise<Record<string, SiteFile>> =>
  (loading ??= (import(/* @vite-ignore */ SITE_MODULE) as Promise<{ files: Record<string, SiteFile> }>).then(
    (m) => m.files,
  ));
