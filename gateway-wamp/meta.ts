// Procedures the router answers itself, from its registry: `mesh.services` lists the services and the procedures
// the caller may call, with their contracts. Sessions cannot register these names; NATS never sees these calls.
import { type Identity, catalogOf, type ServiceDescription, type Args, type Kwargs, type ProcedureRegistry } from '../mesh/gateway.ts';
import type { Guard } from './guard.ts';

export const SERVICES_PROCEDURE = 'mesh.services';

export class MetaProcedures {
  constructor(
    private readonly registry: ProcedureRegistry,
    private readonly guard: Guard,
  ) {}

  /** Whether the router answers the procedure itself. */
  has(procedure: string): boolean {
    return procedure === SERVICES_PROCEDURE;
  }

  /**
   * The reply [args, kwargs] of a meta procedure: for `mesh.services`, `[[services]]` with only the procedures the
   * identity may call (the policy's `call` rules), services with none left out.
   */
  answer(procedure: string, identity: Identity | undefined): [Args, Kwargs] {
    if (procedure !== SERVICES_PROCEDURE) throw new Error(`not a meta procedure: ${procedure}`);
    const services: ServiceDescription[] = [];
    for (const service of catalogOf(this.registry.list())) {
      const procedures = service.procedures.filter((p) => this.guard.allows(identity, 'call', p.subject));
      if (procedures.length > 0) services.push({ ...service, procedures });
    }
    return [[services], {}];
  }
}
