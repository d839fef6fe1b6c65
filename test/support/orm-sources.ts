import { MikroORM, type EntitySchema as MikroEntitySchema } from '@mikro-orm/postgresql';
import { DataSource, type EntitySchema as TypeOrmEntitySchema } from 'typeorm';

/** A TypeORM DataSource on `url`, its tables created from the entities. */
export async function openTypeOrm<T extends object>(
  url: string,
  entities: TypeOrmEntitySchema<T>[],
): Promise<DataSource> {
  const dataSource = new DataSource({ type: 'postgres', url, entities, synchronize: true });
  return dataSource.initialize();
}

/** A MikroORM on `url`, its tables created from the entities. */
export async function openMikroOrm<T extends object>(
  url: string,
  entities: MikroEntitySchema<T>[],
): Promise<MikroORM> {
  const orm = await MikroORM.init({ clientUrl: url, entities, debug: false });
  await orm.schema.createSchema();
  return orm;
}
