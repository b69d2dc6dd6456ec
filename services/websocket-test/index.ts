// websocket_test: the WAMP walk-through's service. `hello_websocket(*args, **kwargs)` publishes [args, kwargs]
// to `websocket_test.websocket_test`, which browsers subscribe to; `websocket_test(...)` answers {"yay": "yay"}.
import { rpc, Service, type Args, type Kwargs } from '../../mesh/index.ts';

export default class WebsocketTestService extends Service {
  name = 'websocket_test';

  /** The topic hello_websocket publishes to: `<service name>.websocket_test`. */
  get topic(): string {
    return `${this.name}.websocket_test`;
  }

  @rpc({ variadic: true })
  async websocket_test() {
    return { yay: 'yay' };
  }

  @rpc({ variadic: true })
  async hello_websocket(args: Args, kwargs: Kwargs) {
    this.publish(this.topic, args, kwargs);
  }
}
