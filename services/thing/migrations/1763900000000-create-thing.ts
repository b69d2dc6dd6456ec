// The first migration: the thing table with its database-made uuid and creation time.
// Written by hand to match ./thing.ts; it relies on gen_random_uuid(), built into Postgres 13 and later.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateThing1763900000000 implements MigrationInterface {
  name = 'CreateThing1763900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "thing" (
        "uuid" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" text NOT NULL,
        "is_created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_thing" PRIMARY KEY ("uuid"),
        CONSTRAINT "CHK_thing_name_length" CHECK (char_length("name") BETWEEN 1 AND 255)
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_thing_is_created_at_uuid" ON "thing" ("is_created_at", "uuid")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "thing"`);
  }
}
