// Whether a handler returned a promise (or any thenable): the service host and the task worker wait only then, so a
// synchronous handler costs no extra turn. Nothing else.
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
