// thing_service's section of the configuration (`database.*`): which Postgres to use, or where the embedded one
// keeps its files, and the pool size. Its provider (database.ts) reads it when it opens the database.
import { configSection, setting, z } from '../../mesh/index.ts';

export const databaseSettings = configSection(
  'database',
  z.strictObject({
    url: z
      .string()
      .refine((value) => /^postgres(ql)?:\/\/.+/.test(value), 'must be a postgres:// URL')
      .nullable()
      .default(null),
    dataDir: z.string().min(1).default('.data'),
    poolSize: setting.positiveInt.max(1000).default(10),
  }),
  {
    DATABASE_URL: 'url',
    DATA_DIR: 'dataDir',
    DATABASE_POOL_SIZE: 'poolSize',
  },
);

export type DatabaseSettings = ReturnType<typeof databaseSettings.of>;
