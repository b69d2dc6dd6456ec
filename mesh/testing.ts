// The entry for a project's tests (`import { createTestMesh } from 'nats-mesh/testing'`): a mesh in one process.
// Not for production code: services run with `mesh run`, callers use createClient from 'nats-mesh'.
export { createTestMesh, type TestMesh, type TestMeshOptions } from './testing/test-mesh.ts';
export { memoryNats } from './testing/memory-nats.ts';
