// greeting_service: the mesh's hello world, `hello` and a deliberately slow `hello_sleep`.
// It shows the whole service model: a class, a name, @rpc methods with named and default parameters.
import { MeshError, rpc } from '../../mesh/index.ts';

function requireString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new MeshError('INVALID_ARGUMENT', `${name} must be a string`);
  return value;
}

export default class GreetingService {
  name = 'greeting_service';

  @rpc
  async hello(first_name: string, last_name = '') {
    return `Hello, ${requireString('first_name', first_name)} ${requireString('last_name', last_name)}`.trim();
  }

  @rpc
  async hello_sleep(name: string, seconds = 10) {
    requireString('name', name);
    if (typeof seconds !== 'number' || !(seconds >= 0 && seconds <= 300)) {
      throw new MeshError('INVALID_ARGUMENT', 'seconds must be a number from 0 to 300');
    }
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return `Hello, ${name}`;
  }
}
