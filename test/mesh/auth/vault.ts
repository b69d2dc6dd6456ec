// A test service whose procedures declare each kind of access, and one that tells who is calling.
// It is hosted under a unique name per test run.
import { currentCall, rpc } from '../../../mesh/index.ts';

export class Vault {
  constructor(readonly name: string) {}

  /** Who the host says is calling, from the call context. */
  @rpc
  async whoami() {
    const call = currentCall();
    return call?.caller ? { id: call.caller.id, roles: [...call.caller.roles], method: call.caller.method, procedure: call.procedure } : null;
  }

  @rpc({ public: true })
  async peek() {
    return 'a peek';
  }

  @rpc({ roles: ['admin'] })
  async open() {
    return 'opened';
  }
}
