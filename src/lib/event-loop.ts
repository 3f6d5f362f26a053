/** Resolves after one turn of the event loop: pending I/O gets its chance before what follows. */
export const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
