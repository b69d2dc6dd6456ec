// Every migration of thing_service, oldest first; TypeORM runs the ones a database has not seen yet.
// Listed by import rather than found by a file glob, so they load the same under tsx and compiled.
import { CreateThing1763900000000 } from './1763900000000-create-thing.ts';

export const MIGRATIONS = [CreateThing1763900000000];
