// greeting_service: the mesh's hello world, `hello` and a deliberately slow `hello_sleep`.
// It shows the whole service model: a class, a name, @rpc methods whose parameters a zod schema declares.
import { rpc, z } from '../../mesh/index.ts';

export default class GreetingService {
  name = 'greeting_service';
  version = '1.0.0';
  description = 'Says hello';

  @rpc({
    params: z.object({ first_name: z.string(), last_name: z.string().default('') }),
    result: z.string(),
    description: 'Greets a person by name',
    http: { get: '/hello/:first_name' },
  })
  async hello(first_name: string, last_name: string) {
    return `Hello, ${first_name} ${last_name}`.trim();
  }

  @rpc({
    params: z.object({ name: z.string(), seconds: z.number().min(0, 'must be from 0 to 300').max(300, 'must be from 0 to 300').default(10) }),
    result: z.string(),
    description: 'Greets after a delay, to show a slow procedure',
  })
  async hello_sleep(name: string, seconds: number) {
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return `Hello, ${name}`;
  }
}
