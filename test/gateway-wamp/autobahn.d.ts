// Types for the parts of npm `autobahn` (Autobahn|JS, untyped) that the interop test uses.
// Only declarations; the library itself is the unmodified package.
declare module 'autobahn' {
  type Args = unknown[];
  type Kwargs = Record<string, unknown>;

  export class Result {
    constructor(args?: Args, kwargs?: Kwargs);
    args: Args;
    kwargs: Kwargs;
  }

  export interface Subscription {
    id: number;
  }

  export interface Session {
    id: number;
    subscribe(topic: string, handler: (args: Args, kwargs: Kwargs, details: Kwargs) => void, options?: Kwargs): Promise<Subscription>;
    publish(topic: string, args?: Args, kwargs?: Kwargs, options?: Kwargs): Promise<unknown>;
    call(procedure: string, args?: Args, kwargs?: Kwargs, options?: Kwargs): Promise<unknown>;
    register(procedure: string, endpoint: (args: Args, kwargs: Kwargs, details: Kwargs) => unknown, options?: Kwargs): Promise<unknown>;
  }

  export interface ConnectionOptions {
    url: string;
    realm: string;
    serializers?: unknown[];
    max_retries?: number;
    authmethods?: string[];
    authid?: string;
    onchallenge?: (session: Session, method: string, extra: Kwargs) => string;
  }

  export class Connection {
    constructor(options: ConnectionOptions);
    onopen: (session: Session, details: Kwargs) => void;
    onclose: (reason: string, details: Kwargs) => boolean | void;
    open(): void;
    close(): void;
  }

  export const serializer: {
    JSONSerializer: new () => unknown;
    MsgpackSerializer: new () => unknown;
  };

  const autobahn: {
    Connection: typeof Connection;
    Result: typeof Result;
    serializer: typeof serializer;
  };
  export default autobahn;
}
