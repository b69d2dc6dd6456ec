// Dependency providers, Nameko's idea: a service declares what it needs as a field (`database = provide(things)`);
// the host opens each one before onStart and the first request, and closes them after the last. Not per request.
import { ConfigError, type MeshConfig } from '../process/config.ts';
import type { Logger } from '../process/logger.ts';

/** What a provider gets to open its value: the process's configuration, and a logger named after the service. */
export interface ProviderContext {
  readonly config: MeshConfig;
  readonly logger: Logger;
  readonly service: string;
}

/** How to open a dependency for a service instance, and how to close it once the instance has stopped. */
export interface Provider<T> {
  /** Named in log lines and errors. */
  readonly name: string;
  open(context: ProviderContext): Promise<T> | T;
  close?(value: T): Promise<void> | void;
}

const PROVIDED = Symbol.for('nats-mesh.provided');

interface Placeholder {
  readonly [PROVIDED]: Provider<unknown>;
}

function isPlaceholder(value: unknown): value is Placeholder {
  return typeof value === 'object' && value !== null && PROVIDED in value;
}

/**
 * Declares a dependency: the field holds a placeholder until the host puts the opened value there, so it is typed
 * as the value. A test passes a fake by assigning the field before hosting; the host then leaves it alone.
 */
export function provide<T>(provider: Provider<T>): T {
  return { [PROVIDED]: provider } as unknown as T;
}

/** The opened dependencies of one instance, to close in reverse order. */
export interface OpenedDependencies {
  close(): Promise<void>;
}

/** Opens every dependency an instance declares, in field order; when one fails, those already open are closed. */
export async function openDependencies(instance: object, context: ProviderContext): Promise<OpenedDependencies> {
  const opened: { provider: Provider<unknown>; value: unknown }[] = [];
  const close = async () => {
    for (const { provider, value } of opened.splice(0).reverse()) {
      try {
        await provider.close?.(value);
      } catch (err) {
        context.logger.error({ err, dependency: provider.name }, 'could not close a dependency');
      }
    }
  };
  const fields = instance as Record<string, unknown>;
  for (const [field, value] of Object.entries(fields)) {
    if (!isPlaceholder(value)) continue;
    const provider = value[PROVIDED];
    try {
      const opening = await provider.open(context);
      opened.push({ provider, value: opening });
      fields[field] = opening;
    } catch (err) {
      await close();
      // A wrong setting (the provider reading its section) names the setting already, and stops the process as one.
      if (err instanceof ConfigError) throw err;
      throw new Error(`${context.service}: could not open ${provider.name} (field ${field}): ${(err as Error).message}`, { cause: err });
    }
  }
  return { close };
}
