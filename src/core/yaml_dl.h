/* libyaml, loaded only while a config file is parsed: the panel parses its
 * config once at start, and libyaml's pages then leave the process again.
 * Include this after <yaml.h>: from here on every libyaml call in the file
 * goes through the loaded library, and may only be made between
 * yaml_dl_open() and yaml_dl_close(). */
#pragma once

#include <yaml.h>

#define YAML_DL_SONAME "libyaml-0.so.2"

#define YAML_FUNCS(X)                                                                              \
        X(yaml_document_delete)                                                                    \
        X(yaml_document_get_node)                                                                  \
        X(yaml_document_get_root_node)                                                             \
        X(yaml_parser_delete)                                                                      \
        X(yaml_parser_initialize)                                                                  \
        X(yaml_parser_load)                                                                        \
        X(yaml_parser_set_input_file)

struct yaml_fns {
#define YAML_FN_SLOT(n) __typeof__(n) *n;
        YAML_FUNCS(YAML_FN_SLOT)
#undef YAML_FN_SLOT
};

/* Load libyaml, or take one more reference when it is loaded already (two
 * threads may parse at once). 0, or -ELIBACC when it cannot be loaded (logged,
 * naming the library and why). Every 0 is paired with one yaml_dl_close()
 * after the last libyaml call; the last one unloads the library. */
int yaml_dl_open(void);
void yaml_dl_close(void);

/* The loaded library's functions: valid between yaml_dl_open() and
 * yaml_dl_close(). */
const struct yaml_fns *yaml_fns(void);

#define yaml_document_delete(...)        (yaml_fns()->yaml_document_delete(__VA_ARGS__))
#define yaml_document_get_node(...)      (yaml_fns()->yaml_document_get_node(__VA_ARGS__))
#define yaml_document_get_root_node(...) (yaml_fns()->yaml_document_get_root_node(__VA_ARGS__))
#define yaml_parser_delete(...)          (yaml_fns()->yaml_parser_delete(__VA_ARGS__))
#define yaml_parser_initialize(...)      (yaml_fns()->yaml_parser_initialize(__VA_ARGS__))
#define yaml_parser_load(...)            (yaml_fns()->yaml_parser_load(__VA_ARGS__))
#define yaml_parser_set_input_file(...)  (yaml_fns()->yaml_parser_set_input_file(__VA_ARGS__))
