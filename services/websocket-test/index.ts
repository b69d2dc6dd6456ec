// websocket_test: the WAMP walk-through's service. `hello_websocket(*args, **kwargs)` publishes [args, kwargs]
// to the event topic `websocket_test.websocket_test`, which browsers subscribe to; `ping(...)` answers {"yay": "yay"}.
import { rpc, Service, type Args, type Kwargs } from '../../mesh/index.ts';

export default class WebsocketTestService extends Service {
  name = 'websocket_test';

  /**
   * The topic hello_websocket publishes to: `<service name>.websocket_test`. No procedure may have that subject
   * (the WAMP gateway refuses subscribing and publishing to a procedure's subject), hence `ping` below.
   */
  get topic(): string {
    return `${this.name}.websocket_test`;
  }

  /** What it publishes: only its topic (`mesh nats-config` grants it; the host refuses any other subject). */
  get publishes(): string[] {
    return [this.topic];
  }

  @rpc({ variadic: true })
  async ping() {
    return { yay: 'yay' };
  }

  @rpc({ variadic: true })
  async hello_websocket(args: Args, kwargs: Kwargs) {
    this.publish(this.topic, args, kwargs);
  }
}
