// The Store suite against a real, throwaway PostgreSQL 15 (tests/support/pg_server.h).
#include "support/store_suite.h"

namespace chaperone::store {
INSTANTIATE_TEST_SUITE_P(Postgres, StoreSuite, ::testing::Values("postgresql"));
}  // namespace chaperone::store
