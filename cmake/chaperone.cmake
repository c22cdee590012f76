# Small helpers shared by every component.

set(CHAPERONE_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

if(CHAPERONE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  # g++ 12 with ASan reports false -Wmaybe-uninitialized inside libstdc++'s
  # <regex> (std::function in _NFA states) for any user of std::regex.
  add_compile_options(-Wno-maybe-uninitialized)
  add_link_options(-fsanitize=address,undefined)
endif()

# chaperone_component(NAME <target> [SHARED] DEPS <targets...>)
# Builds every .cc in the calling folder (recursively) into one library.
# A folder without sources yet becomes an INTERFACE library.
function(chaperone_component)
  cmake_parse_arguments(C "SHARED" "NAME" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  if(NOT srcs)
    add_library(${C_NAME} INTERFACE)
    target_link_libraries(${C_NAME} INTERFACE ${C_DEPS})
    return()
  endif()
  if(C_SHARED)
    add_library(${C_NAME} SHARED ${srcs})
  else()
    add_library(${C_NAME} STATIC ${srcs})
  endif()
  target_compile_options(${C_NAME} PRIVATE ${CHAPERONE_WARNINGS})
  target_include_directories(${C_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${C_NAME} PUBLIC ${C_DEPS} PRIVATE ${C_PRIVATE_DEPS})
endfunction()
