import type { TestProject } from 'vitest/node';
import { startFakeUpstream } from './fake-upstream';

declare module 'vitest' {
  export interface ProvidedContext {
    upstreamUrl: string;
  }
}

/** One fake upstream for the whole run; workers reach it on 127.0.0.1. */
export default async function setup(project: TestProject) {
  const upstream = await startFakeUpstream();
  project.provide('upstreamUrl', upstream.url);
  return () => upstream.close();
}
