# Installs the dashboard's pinned npm dependencies (package-lock.json).
#   cmake -DNPM=<npm> -DDIR=<web/dashboard> -DSTAMP=<file> -P npm_ci.cmake
execute_process(
  COMMAND "${NPM}" ci --no-audit --no-fund --prefer-offline --loglevel=error
  WORKING_DIRECTORY "${DIR}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR
    "dashboard: `npm ci` failed in ${DIR} (exit ${rc}). It installs the pinned front-end "
    "dependencies from the npm registry (or npm's cache): check network access to the registry, "
    "or run scripts/install-deps.sh if Node.js/npm are missing or broken.")
endif()
file(TOUCH "${STAMP}")
