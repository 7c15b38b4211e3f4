# One warning list and three wrappers, so every module is declared the same way.

set(LOUPE_WARNINGS -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND LOUPE_WARNINGS -Wshadow=local)
else()
  list(APPEND LOUPE_WARNINGS -Wshadow-uncaptured-local)
endif()
if(LOUPE_WERROR)
  list(APPEND LOUPE_WARNINGS -Werror)
endif()

if(LOUPE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Boost.Asio/Beast: no deprecated APIs, standalone error codes.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED)

# loupe_cc_library(NAME name SRCS ... DEPS ...)
function(loupe_cc_library)
  cmake_parse_arguments(L "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${L_NAME} STATIC ${L_SRCS})
  target_include_directories(${L_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${L_NAME} PRIVATE ${LOUPE_WARNINGS})
  target_link_libraries(${L_NAME} PUBLIC ${L_DEPS})
endfunction()

# loupe_cc_test(NAME name SRCS ... DEPS ...): a GoogleTest binary registered with ctest.
function(loupe_cc_test)
  if(NOT LOUPE_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(L "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${L_NAME} ${L_SRCS})
  target_compile_options(${L_NAME} PRIVATE ${LOUPE_WARNINGS})
  target_link_libraries(${L_NAME} PRIVATE ${L_DEPS} GTest::gmock GTest::gtest_main)
  add_test(NAME ${L_NAME} COMMAND ${L_NAME})
endfunction()

# loupe_embed_file(VAR_NAME input output): generates a .cc defining
# `extern const std::string_view VAR_NAME` with the file's bytes.
function(loupe_embed_file symbol input output)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DSYMBOL=${symbol} -DINPUT=${input} -DOUTPUT=${output}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
    DEPENDS ${input} ${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake
    VERBATIM)
endfunction()
