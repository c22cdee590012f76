// The Store suite against SQLite (the PostgreSQL run is a component test).
#include "support/store_suite.h"

namespace chaperone::store {
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreSuite, ::testing::Values("sqlite"));
}  // namespace chaperone::store
