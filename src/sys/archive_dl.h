/* libarchive, loaded on first use. It pulls in libxml2, ICU and libstdc++
 * (megabytes of resident pages) that an idle panel never needs: only
 * backups use it. Include this after <archive.h> and <archive_entry.h>: from
 * here on every libarchive call in the file goes through the loaded
 * library. Call archive_fns() first and give up when it returns NULL. */
#pragma once

#include <archive.h>
#include <archive_entry.h>

#define ARCHIVE_FUNCS(X)                                                                           \
        X(archive_entry_clear)                                                                     \
        X(archive_entry_copy_pathname)                                                             \
        X(archive_entry_filetype)                                                                  \
        X(archive_entry_free)                                                                      \
        X(archive_entry_hardlink)                                                                  \
        X(archive_entry_new)                                                                       \
        X(archive_entry_pathname)                                                                  \
        X(archive_entry_set_filetype)                                                              \
        X(archive_entry_set_mtime)                                                                 \
        X(archive_entry_set_pathname)                                                              \
        X(archive_entry_set_perm)                                                                  \
        X(archive_entry_set_size)                                                                  \
        X(archive_entry_size)                                                                      \
        X(archive_entry_sourcepath)                                                                \
        X(archive_errno)                                                                           \
        X(archive_error_string)                                                                    \
        X(archive_read_close)                                                                      \
        X(archive_read_data_block)                                                                 \
        X(archive_read_disk_descend)                                                               \
        X(archive_read_disk_new)                                                                   \
        X(archive_read_disk_open)                                                                  \
        X(archive_read_disk_set_behavior)                                                          \
        X(archive_read_disk_set_standard_lookup)                                                   \
        X(archive_read_disk_set_symlink_physical)                                                  \
        X(archive_read_free)                                                                       \
        X(archive_read_new)                                                                        \
        X(archive_read_next_header)                                                                \
        X(archive_read_next_header2)                                                               \
        X(archive_read_open_filename)                                                              \
        X(archive_read_support_filter_gzip)                                                        \
        X(archive_read_support_format_tar)                                                         \
        X(archive_write_add_filter_gzip)                                                           \
        X(archive_write_close)                                                                     \
        X(archive_write_data)                                                                      \
        X(archive_write_data_block)                                                                \
        X(archive_write_disk_new)                                                                  \
        X(archive_write_disk_set_options)                                                          \
        X(archive_write_disk_set_standard_lookup)                                                  \
        X(archive_write_finish_entry)                                                              \
        X(archive_write_free)                                                                      \
        X(archive_write_header)                                                                    \
        X(archive_write_new)                                                                       \
        X(archive_write_open_fd)                                                                   \
        X(archive_write_set_bytes_in_last_block)                                                   \
        X(archive_write_set_format_pax_restricted)

struct archive_fns {
#define ARCHIVE_FN_SLOT(n) __typeof__(n) *n;
        ARCHIVE_FUNCS(ARCHIVE_FN_SLOT)
#undef ARCHIVE_FN_SLOT
};

/* The loaded library, or NULL when it cannot be loaded (logged once). */
const struct archive_fns *archive_fns(void);

#define archive_entry_clear(...)         (archive_fns()->archive_entry_clear(__VA_ARGS__))
#define archive_entry_copy_pathname(...) (archive_fns()->archive_entry_copy_pathname(__VA_ARGS__))
#define archive_entry_filetype(...)      (archive_fns()->archive_entry_filetype(__VA_ARGS__))
#define archive_entry_free(...)          (archive_fns()->archive_entry_free(__VA_ARGS__))
#define archive_entry_hardlink(...)      (archive_fns()->archive_entry_hardlink(__VA_ARGS__))
#define archive_entry_new(...)           (archive_fns()->archive_entry_new(__VA_ARGS__))
#define archive_entry_pathname(...)      (archive_fns()->archive_entry_pathname(__VA_ARGS__))
#define archive_entry_set_filetype(...)  (archive_fns()->archive_entry_set_filetype(__VA_ARGS__))
#define archive_entry_set_mtime(...)     (archive_fns()->archive_entry_set_mtime(__VA_ARGS__))
#define archive_entry_set_pathname(...)  (archive_fns()->archive_entry_set_pathname(__VA_ARGS__))
#define archive_entry_set_perm(...)      (archive_fns()->archive_entry_set_perm(__VA_ARGS__))
#define archive_entry_set_size(...)      (archive_fns()->archive_entry_set_size(__VA_ARGS__))
#define archive_entry_size(...)          (archive_fns()->archive_entry_size(__VA_ARGS__))
#define archive_entry_sourcepath(...)    (archive_fns()->archive_entry_sourcepath(__VA_ARGS__))
#define archive_errno(...)               (archive_fns()->archive_errno(__VA_ARGS__))
#define archive_error_string(...)        (archive_fns()->archive_error_string(__VA_ARGS__))
#define archive_read_close(...)          (archive_fns()->archive_read_close(__VA_ARGS__))
#define archive_read_data_block(...)     (archive_fns()->archive_read_data_block(__VA_ARGS__))
#define archive_read_disk_descend(...)   (archive_fns()->archive_read_disk_descend(__VA_ARGS__))
#define archive_read_disk_new(...)       (archive_fns()->archive_read_disk_new(__VA_ARGS__))
#define archive_read_disk_open(...)      (archive_fns()->archive_read_disk_open(__VA_ARGS__))
#define archive_read_disk_set_behavior(...)                                                        \
        (archive_fns()->archive_read_disk_set_behavior(__VA_ARGS__))
#define archive_read_disk_set_standard_lookup(...)                                                 \
        (archive_fns()->archive_read_disk_set_standard_lookup(__VA_ARGS__))
#define archive_read_disk_set_symlink_physical(...)                                                \
        (archive_fns()->archive_read_disk_set_symlink_physical(__VA_ARGS__))
#define archive_read_free(...)          (archive_fns()->archive_read_free(__VA_ARGS__))
#define archive_read_new(...)           (archive_fns()->archive_read_new(__VA_ARGS__))
#define archive_read_next_header(...)   (archive_fns()->archive_read_next_header(__VA_ARGS__))
#define archive_read_next_header2(...)  (archive_fns()->archive_read_next_header2(__VA_ARGS__))
#define archive_read_open_filename(...) (archive_fns()->archive_read_open_filename(__VA_ARGS__))
#define archive_read_support_filter_gzip(...)                                                      \
        (archive_fns()->archive_read_support_filter_gzip(__VA_ARGS__))
#define archive_read_support_format_tar(...)                                                       \
        (archive_fns()->archive_read_support_format_tar(__VA_ARGS__))
#define archive_write_add_filter_gzip(...)                                                         \
        (archive_fns()->archive_write_add_filter_gzip(__VA_ARGS__))
#define archive_write_close(...)      (archive_fns()->archive_write_close(__VA_ARGS__))
#define archive_write_data(...)       (archive_fns()->archive_write_data(__VA_ARGS__))
#define archive_write_data_block(...) (archive_fns()->archive_write_data_block(__VA_ARGS__))
#define archive_write_disk_new(...)   (archive_fns()->archive_write_disk_new(__VA_ARGS__))
#define archive_write_disk_set_options(...)                                                        \
        (archive_fns()->archive_write_disk_set_options(__VA_ARGS__))
#define archive_write_disk_set_standard_lookup(...)                                                \
        (archive_fns()->archive_write_disk_set_standard_lookup(__VA_ARGS__))
#define archive_write_finish_entry(...) (archive_fns()->archive_write_finish_entry(__VA_ARGS__))
#define archive_write_free(...)         (archive_fns()->archive_write_free(__VA_ARGS__))
#define archive_write_header(...)       (archive_fns()->archive_write_header(__VA_ARGS__))
#define archive_write_new(...)          (archive_fns()->archive_write_new(__VA_ARGS__))
#define archive_write_open_fd(...)      (archive_fns()->archive_write_open_fd(__VA_ARGS__))
#define archive_write_set_bytes_in_last_block(...)                                                 \
        (archive_fns()->archive_write_set_bytes_in_last_block(__VA_ARGS__))
#define archive_write_set_format_pax_restricted(...)                                               \
        (archive_fns()->archive_write_set_format_pax_restricted(__VA_ARGS__))
