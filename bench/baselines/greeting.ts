// The greeting work every baseline does, so baselines and the mesh do the same job per request:
// decode [args, kwargs], build "Hello, first last", encode [[greeting], {}].
export function greet(payload: unknown): [[string], Record<string, never>] {
  const [args = [], kwargs = {}] = (payload ?? []) as [unknown[]?, Record<string, unknown>?];
  const first = String(args[0] ?? kwargs.first_name ?? '');
  const last = String(args[1] ?? kwargs.last_name ?? '');
  return [[`Hello, ${first} ${last}`.trim()], {}];
}

export const REQUEST: [string[], Record<string, string>] = [['Bob'], { last_name: 'Ross' }];
export const REQUEST_JSON = JSON.stringify(REQUEST);
