# Small helpers shared by every component.

set(CHAPERONE_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

if(CHAPERONE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  # g++ 12 with ASan reports false -Wmaybe-uninitialized inside libstdc++'s
  # <regex> (std::function in _NFA states) for any user of std::regex.
  add_compile_options(-Wno-maybe-uninitialized)
  add_link_options(-fsanitize=address,undefined)
endif()

# chaperone_component(NAME <target> [SHARED | EXECUTABLE] [FLAT]
#                     [DEPS <targets...>] [PRIVATE_DEPS <targets...>]
#                     [PUBLIC_HEADERS <headers...>])
# Builds every .cc in the calling folder (recursively; FLAT: only the folder
# itself) into one library, or into an executable.
# A folder without sources yet becomes an INTERFACE library.
#
# The folder is the component's: PUBLIC_HEADERS (relative to the folder, or
# absolute, e.g. ${PROJECT_SOURCE_DIR}/include/chaperone/x.h) are the headers
# other components may include; every other file under the folder is private.
# A component may include the public headers of the components among its DEPS
# and PRIVATE_DEPS and, transitively, theirs. scripts/check_layering.py checks
# every source against that rule on each build (target chaperone_layering),
# from the manifest written below at the end of configuration.
function(chaperone_component)
  cmake_parse_arguments(C "SHARED;EXECUTABLE;FLAT" "NAME" "DEPS;PRIVATE_DEPS;PUBLIC_HEADERS" ${ARGN})
  chaperone_register_component(NAME ${C_NAME} FOLDER ${CMAKE_CURRENT_SOURCE_DIR}
    DEPS ${C_DEPS} ${C_PRIVATE_DEPS} PUBLIC_HEADERS ${C_PUBLIC_HEADERS})
  if(C_FLAT)
    file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  else()
    file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  endif()
  if(C_EXECUTABLE)
    add_executable(${C_NAME} ${srcs})
    target_compile_options(${C_NAME} PRIVATE ${CHAPERONE_WARNINGS})
    target_include_directories(${C_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${C_NAME} PRIVATE ${C_DEPS} ${C_PRIVATE_DEPS})
    add_dependencies(${C_NAME} chaperone_layering)
    return()
  endif()
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
  # src/ stays on the include path of every user (headers are spelled
  # "common/topic_name.h"); which of them a component may include is the
  # layering check's business, not the compiler's.
  target_include_directories(${C_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${C_NAME} PUBLIC ${C_DEPS} PRIVATE ${C_PRIVATE_DEPS})
  add_dependencies(${C_NAME} chaperone_layering)
endfunction()

# chaperone_register_component(NAME <target> FOLDER <dir> [DEPS ...] [PUBLIC_HEADERS ...])
# Enters a component into the layering manifest without building anything;
# chaperone_component() calls it, and so may a folder that builds its target
# by hand. DEPS that are not components (fmt::fmt, httplib::httplib) are
# dropped when the manifest is written.
function(chaperone_register_component)
  cmake_parse_arguments(R "" "NAME;FOLDER" "DEPS;PUBLIC_HEADERS" ${ARGN})
  get_property(known GLOBAL PROPERTY CHAPERONE_COMPONENTS)
  if(R_NAME IN_LIST known)
    message(FATAL_ERROR "chaperone: component ${R_NAME} is declared twice")
  endif()
  set(headers)
  foreach(h ${R_PUBLIC_HEADERS})
    cmake_path(ABSOLUTE_PATH h BASE_DIRECTORY ${R_FOLDER} NORMALIZE OUTPUT_VARIABLE abs)
    if(NOT EXISTS ${abs})
      message(FATAL_ERROR "chaperone: ${R_NAME} declares the public header ${h}, which does not exist")
    endif()
    file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR} ${abs})
    list(APPEND headers ${rel})
  endforeach()
  file(RELATIVE_PATH folder ${PROJECT_SOURCE_DIR} ${R_FOLDER})
  set_property(GLOBAL APPEND PROPERTY CHAPERONE_COMPONENTS ${R_NAME})
  set_property(GLOBAL PROPERTY CHAPERONE_COMPONENT_${R_NAME}_FOLDER ${folder})
  set_property(GLOBAL PROPERTY CHAPERONE_COMPONENT_${R_NAME}_DEPS ${R_DEPS})
  set_property(GLOBAL PROPERTY CHAPERONE_COMPONENT_${R_NAME}_HEADERS ${headers})
endfunction()

# Writes ${CMAKE_BINARY_DIR}/layering.json once every folder has been read.
function(chaperone_write_layering_manifest)
  get_property(names GLOBAL PROPERTY CHAPERONE_COMPONENTS)
  set(json "{\"components\": []}")
  set(i 0)
  foreach(name ${names})
    get_property(folder GLOBAL PROPERTY CHAPERONE_COMPONENT_${name}_FOLDER)
    get_property(deps GLOBAL PROPERTY CHAPERONE_COMPONENT_${name}_DEPS)
    get_property(headers GLOBAL PROPERTY CHAPERONE_COMPONENT_${name}_HEADERS)
    set(c "{\"name\": \"${name}\", \"folder\": \"${folder}\", \"deps\": [], \"public_headers\": []}")
    set(j 0)
    foreach(d ${deps})
      if(d IN_LIST names)
        string(JSON c SET "${c}" deps ${j} "\"${d}\"")
        math(EXPR j "${j} + 1")
      endif()
    endforeach()
    set(j 0)
    foreach(h ${headers})
      string(JSON c SET "${c}" public_headers ${j} "\"${h}\"")
      math(EXPR j "${j} + 1")
    endforeach()
    string(JSON json SET "${json}" components ${i} "${c}")
    math(EXPR i "${i} + 1")
  endforeach()
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/layering.json CONTENT "${json}\n" @ONLY)
endfunction()
cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL chaperone_write_layering_manifest)

# The layering check runs on every build, before any component compiles: a
# file that includes another component's private header, or a header of a
# component it does not depend on, fails the build with file:line and the rule.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(CHAPERONE_LAYERING_CHECK ${PROJECT_SOURCE_DIR}/scripts/check_layering.py)
add_custom_target(chaperone_layering ALL
  COMMAND Python3::Interpreter ${CHAPERONE_LAYERING_CHECK}
          --manifest ${CMAKE_BINARY_DIR}/layering.json --root ${PROJECT_SOURCE_DIR}
  COMMENT "Checking component boundaries (scripts/check_layering.py)"
  VERBATIM)
