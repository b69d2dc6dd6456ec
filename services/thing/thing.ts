// The Thing entity, as TypeORM maps it, and the JSON form a caller receives.
// It does not make the schema: the migrations in ./migrations do, and a test checks that both agree.
import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export const NAME_MAX_LENGTH = 255;

@Entity({ name: 'thing' })
@Check('CHK_thing_name_length', `char_length("name") BETWEEN 1 AND ${NAME_MAX_LENGTH}`)
@Index('IDX_thing_is_created_at_uuid', ['is_created_at', 'uuid'])
export class Thing {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'PK_thing' })
  uuid!: string;

  @Column({ type: 'text' })
  name!: string;

  @CreateDateColumn({ type: 'timestamptz' })
  is_created_at!: Date;
}

export interface ThingJson {
  uuid: string;
  name: string;
  /** ISO-8601, UTC, millisecond precision. */
  is_created_at: string;
}

export function thingToJson(thing: Thing): ThingJson {
  return { uuid: thing.uuid, name: thing.name, is_created_at: thing.is_created_at.toISOString() };
}
