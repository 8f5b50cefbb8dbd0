/** Public face of the metadata stores: the registry, and the SQLite store for direct use. */
export { stores, openStore, isStoreKind, storeKindOf, type StoreKind, type StoreOptions } from './registry.js';
export { SqliteStore, databaseFileName, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { migrations, latestSchemaVersion, type Migration, type MigrationResult } from './sqlite/migrations.js';
