// `mesh ls`: the services that answered $SRV.INFO as text, one block per service with its instances listed in it.
// It formats; asking the mesh is wire/micro.ts's askServices.
import type { ServiceInfo } from '../wire/micro.ts';
import type { Namespace } from '../wire/namespace.ts';

/** One block per service name: its versions, its instances, and its procedures (those of every instance, once each). */
export function formatServiceList(infos: readonly ServiceInfo[], namespace: Namespace): string {
  if (infos.length === 0) return 'no services answer $SRV.INFO\n';
  const byName = new Map<string, ServiceInfo[]>();
  for (const info of infos) byName.set(info.name, [...(byName.get(info.name) ?? []), info]);
  const lines: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const instances = byName.get(name)!.sort((a, b) => a.id.localeCompare(b.id));
    const versions = [...new Set(instances.map((i) => i.version))].join(', ');
    const count = instances.length === 1 ? '1 instance' : `${instances.length} instances`;
    lines.push(`${name} ${versions} (${count}: ${instances.map((i) => i.id).join(', ')})`);
    const procedures = new Map<string, string>();
    for (const endpoint of instances.flatMap((i) => i.endpoints)) {
      const procedure = namespace.nameOf(endpoint.subject);
      if (procedure !== undefined && !procedures.has(procedure)) procedures.set(procedure, `  ${procedure}(${endpoint.metadata?.parameters ?? ''})`);
    }
    lines.push(...procedures.values());
  }
  return `${lines.join('\n')}\n`;
}
