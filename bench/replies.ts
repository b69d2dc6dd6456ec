// What the benchmarks check in every reply before counting it. A wrong reply is not an error to count: it throws
// WrongReply, which ends the measurement, so a scenario whose replies are wrong fails instead of reporting a rate.
export class WrongReply extends Error {
  override name = 'WrongReply';
}

/** What greeting.hello answers to REQUEST (baselines/greeting.ts), and the whole reply as the HTTP gateway sends it. */
export const GREETING = 'Hello, Bob Ross';
export const GREETING_REPLY_JSON = JSON.stringify([[GREETING], {}]);

const show = (value: unknown) => JSON.stringify(value)?.slice(0, 200);

export function expectGreeting(value: unknown): void {
  if (value !== GREETING) throw new WrongReply(`expected ${show(GREETING)}, got ${show(value)}`);
}

const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function isThing(value: unknown): value is { uuid: string; name: string; is_created_at: string } {
  const thing = value as Record<string, unknown> | null;
  return typeof thing?.uuid === 'string' && typeof thing.name === 'string' && typeof thing.is_created_at === 'string' && ISO_DATE.test(thing.is_created_at);
}

/** create_thing's result: a thing with the name sent. */
export function expectThing(value: unknown, name: string): void {
  if (!isThing(value) || value.name !== name) throw new WrongReply(`expected a thing named ${show(name)}, got ${show(value)}`);
}

/** get_things's result: `count` things. */
export function expectThings(value: unknown, count: number): void {
  if (!Array.isArray(value) || value.length !== count || !value.every(isThing)) {
    throw new WrongReply(`expected ${count} things, got ${Array.isArray(value) ? `${value.length} items, the first ${show(value[0])}` : show(value)}`);
  }
}

/** The i-th progressive result of a stream, or its final result. */
export function expectItem(value: unknown, i: number): void {
  if (value !== i) throw new WrongReply(`expected item ${i}, got ${show(value)}`);
}
