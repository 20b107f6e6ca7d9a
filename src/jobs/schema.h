// The job database's schema as an ordered list of migrations, and bringing a database up to date.
#pragma once

#include <span>
#include <string>

namespace qs {

class SqliteDatabase;

struct Migration {
  int version;              // 1, 2, 3, ... in order
  const char *description;  // recorded in schema_version
  const char *sql;          // run inside the upgrade transaction
};

std::span<const Migration> schema_migrations();
int latest_schema_version();

// Reads the database's version and applies every missing migration in one write transaction.
// Throws qs::Error naming the file when it is some other program's database or comes from a newer
// quantscope. Returns the version the database had before (0 for a new file).
int migrate_schema(SqliteDatabase &db);

}  // namespace qs
