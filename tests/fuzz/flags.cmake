# Included from the top-level CMakeLists.txt when SETEC_FUZZ is on, before any
# library is defined: every library gets libFuzzer's coverage instrumentation
# (without its main) and ASan/UBSan; the targets themselves link libFuzzer
# (tests/fuzz/CMakeLists.txt).
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SETEC_FUZZ needs clang (libFuzzer): "
                      "cmake -DCMAKE_C_COMPILER=clang -DSETEC_FUZZ=ON ...")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                    -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)
# clang-only diagnostics, silenced for these files in this build only:
# strbuf_vprintf() hands its caller's format on (a format attribute on it would
# move the warning into mhd_logger() of http/server.c), and the api modules'
# lock guards are cleanup variables that clang counts as unused.
set_source_files_properties(src/base/strbuf.c PROPERTIES COMPILE_OPTIONS -Wno-format-nonliteral)
set_source_files_properties(src/api/backups.c src/api/sites.c
                            PROPERTIES COMPILE_OPTIONS -Wno-unused-variable)
