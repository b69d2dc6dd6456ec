// `mesh info <service>`: one service as the catalog describes it, as text (or JSON): description, version,
// instances, and each procedure with its description and schemas. It formats; discovery is discover.ts's.
import type { ServiceDescription } from '../calling/catalog.ts';
import { schemaToType } from './schema-types.ts';

export function formatServiceInfo(service: ServiceDescription): string {
  const lines = [`${service.name} ${service.version ?? '(no version)'}`];
  if (service.description) lines.push(`  ${service.description}`);
  lines.push(`  instances (${service.instances.length}): ${service.instances.join(', ')}`, '  procedures:');
  for (const p of service.procedures) {
    lines.push(`    ${p.name}${p.access && p.access !== 'public' ? ` [${p.access}]` : ''}${p.description ? `: ${p.description}` : ''}`);
    if (p.paramsSchema) lines.push(`      params: ${schemaToType(p.paramsSchema)}`, `        schema: ${JSON.stringify(p.paramsSchema)}`);
    else if (p.parameters !== undefined) lines.push(`      parameters: ${p.parameters}`);
    if (p.resultSchema) lines.push(`      result: ${schemaToType(p.resultSchema)}`, `        schema: ${JSON.stringify(p.resultSchema)}`);
    if (p.schemaProblem) lines.push(`      schema unavailable: ${p.schemaProblem}`);
    if (p.getRoute) lines.push(`      http: GET ${p.getRoute}`);
  }
  return `${lines.join('\n')}\n`;
}
