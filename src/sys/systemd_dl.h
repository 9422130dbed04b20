/* libsystemd, loaded on first use. With libgcrypt, libgpg-error, libzstd,
 * liblzma, liblz4 and libcap, which it pulls in, it is about 0.8 MB of
 * resident pages that a panel nobody has looked at never needs: only service
 * states (the dashboard), unit control and the journal use it. Include this
 * after <systemd/sd-bus.h> / <systemd/sd-journal.h>: from here on every sd_*
 * call in the file goes through the loaded library. Call systemd_fns() first
 * (where the bus or the journal is opened) and give up when it returns NULL. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

/* sd-journal.h includes <syslog.h>, whose LOG_DEBUG and LOG_INFO macros
 * would silently replace base/log.h's levels of the same names (log_debug()
 * would then pass 7, past the end of its table). Nothing here uses syslog's. */
#undef LOG_DEBUG
#undef LOG_INFO

#define SYSTEMD_FUNCS(X)                                                                           \
        X(sd_bus_call)                                                                             \
        X(sd_bus_close_unref)                                                                      \
        X(sd_bus_error_free)                                                                       \
        X(sd_bus_error_has_name)                                                                   \
        X(sd_bus_error_is_set)                                                                     \
        X(sd_bus_get_property_string)                                                              \
        X(sd_bus_is_open)                                                                          \
        X(sd_bus_is_ready)                                                                         \
        X(sd_bus_match_signal)                                                                     \
        X(sd_bus_message_append)                                                                   \
        X(sd_bus_message_appendv)                                                                  \
        X(sd_bus_message_new_method_call)                                                          \
        X(sd_bus_message_read)                                                                     \
        X(sd_bus_message_unref)                                                                    \
        X(sd_bus_new)                                                                              \
        X(sd_bus_open_system)                                                                      \
        X(sd_bus_path_encode)                                                                      \
        X(sd_bus_process)                                                                          \
        X(sd_bus_set_address)                                                                      \
        X(sd_bus_set_bus_client)                                                                   \
        X(sd_bus_set_method_call_timeout)                                                          \
        X(sd_bus_slot_unref)                                                                       \
        X(sd_bus_start)                                                                            \
        X(sd_bus_wait)                                                                             \
        X(sd_journal_add_disjunction)                                                              \
        X(sd_journal_add_match)                                                                    \
        X(sd_journal_close)                                                                        \
        X(sd_journal_get_cursor)                                                                   \
        X(sd_journal_get_data)                                                                     \
        X(sd_journal_get_fd)                                                                       \
        X(sd_journal_get_realtime_usec)                                                            \
        X(sd_journal_next)                                                                         \
        X(sd_journal_open)                                                                         \
        X(sd_journal_open_directory)                                                               \
        X(sd_journal_previous)                                                                     \
        X(sd_journal_previous_skip)                                                                \
        X(sd_journal_process)                                                                      \
        X(sd_journal_seek_cursor)                                                                  \
        X(sd_journal_seek_head)                                                                    \
        X(sd_journal_seek_tail)                                                                    \
        X(sd_journal_set_data_threshold)                                                           \
        X(sd_journal_test_cursor)

struct systemd_fns {
#define SYSTEMD_FN_SLOT(n) __typeof__(n) *n;
        SYSTEMD_FUNCS(SYSTEMD_FN_SLOT)
#undef SYSTEMD_FN_SLOT
};

/* The loaded library, or NULL when it cannot be loaded (logged once). */
const struct systemd_fns *systemd_fns(void);

/* Function-like, so variadic ones (sd_bus_message_append, ...) pass their
 * arguments through unchanged. */
#define sd_bus_call(...)                (systemd_fns()->sd_bus_call(__VA_ARGS__))
#define sd_bus_close_unref(...)         (systemd_fns()->sd_bus_close_unref(__VA_ARGS__))
#define sd_bus_error_free(...)          (systemd_fns()->sd_bus_error_free(__VA_ARGS__))
#define sd_bus_error_has_name(...)      (systemd_fns()->sd_bus_error_has_name(__VA_ARGS__))
#define sd_bus_error_is_set(...)        (systemd_fns()->sd_bus_error_is_set(__VA_ARGS__))
#define sd_bus_get_property_string(...) (systemd_fns()->sd_bus_get_property_string(__VA_ARGS__))
#define sd_bus_is_open(...)             (systemd_fns()->sd_bus_is_open(__VA_ARGS__))
#define sd_bus_is_ready(...)            (systemd_fns()->sd_bus_is_ready(__VA_ARGS__))
#define sd_bus_match_signal(...)        (systemd_fns()->sd_bus_match_signal(__VA_ARGS__))
#define sd_bus_message_append(...)      (systemd_fns()->sd_bus_message_append(__VA_ARGS__))
#define sd_bus_message_appendv(...)     (systemd_fns()->sd_bus_message_appendv(__VA_ARGS__))
#define sd_bus_message_new_method_call(...)                                                        \
        (systemd_fns()->sd_bus_message_new_method_call(__VA_ARGS__))
#define sd_bus_message_read(...)   (systemd_fns()->sd_bus_message_read(__VA_ARGS__))
#define sd_bus_message_unref(...)  (systemd_fns()->sd_bus_message_unref(__VA_ARGS__))
#define sd_bus_new(...)            (systemd_fns()->sd_bus_new(__VA_ARGS__))
#define sd_bus_open_system(...)    (systemd_fns()->sd_bus_open_system(__VA_ARGS__))
#define sd_bus_path_encode(...)    (systemd_fns()->sd_bus_path_encode(__VA_ARGS__))
#define sd_bus_process(...)        (systemd_fns()->sd_bus_process(__VA_ARGS__))
#define sd_bus_set_address(...)    (systemd_fns()->sd_bus_set_address(__VA_ARGS__))
#define sd_bus_set_bus_client(...) (systemd_fns()->sd_bus_set_bus_client(__VA_ARGS__))
#define sd_bus_set_method_call_timeout(...)                                                        \
        (systemd_fns()->sd_bus_set_method_call_timeout(__VA_ARGS__))
#define sd_bus_slot_unref(...)            (systemd_fns()->sd_bus_slot_unref(__VA_ARGS__))
#define sd_bus_start(...)                 (systemd_fns()->sd_bus_start(__VA_ARGS__))
#define sd_bus_wait(...)                  (systemd_fns()->sd_bus_wait(__VA_ARGS__))
#define sd_journal_add_disjunction(...)   (systemd_fns()->sd_journal_add_disjunction(__VA_ARGS__))
#define sd_journal_add_match(...)         (systemd_fns()->sd_journal_add_match(__VA_ARGS__))
#define sd_journal_close(...)             (systemd_fns()->sd_journal_close(__VA_ARGS__))
#define sd_journal_get_cursor(...)        (systemd_fns()->sd_journal_get_cursor(__VA_ARGS__))
#define sd_journal_get_data(...)          (systemd_fns()->sd_journal_get_data(__VA_ARGS__))
#define sd_journal_get_fd(...)            (systemd_fns()->sd_journal_get_fd(__VA_ARGS__))
#define sd_journal_get_realtime_usec(...) (systemd_fns()->sd_journal_get_realtime_usec(__VA_ARGS__))
#define sd_journal_next(...)              (systemd_fns()->sd_journal_next(__VA_ARGS__))
#define sd_journal_open(...)              (systemd_fns()->sd_journal_open(__VA_ARGS__))
#define sd_journal_open_directory(...)    (systemd_fns()->sd_journal_open_directory(__VA_ARGS__))
#define sd_journal_previous(...)          (systemd_fns()->sd_journal_previous(__VA_ARGS__))
#define sd_journal_previous_skip(...)     (systemd_fns()->sd_journal_previous_skip(__VA_ARGS__))
#define sd_journal_process(...)           (systemd_fns()->sd_journal_process(__VA_ARGS__))
#define sd_journal_seek_cursor(...)       (systemd_fns()->sd_journal_seek_cursor(__VA_ARGS__))
#define sd_journal_seek_head(...)         (systemd_fns()->sd_journal_seek_head(__VA_ARGS__))
#define sd_journal_seek_tail(...)         (systemd_fns()->sd_journal_seek_tail(__VA_ARGS__))
#define sd_journal_set_data_threshold(...)                                                         \
        (systemd_fns()->sd_journal_set_data_threshold(__VA_ARGS__))
#define sd_journal_test_cursor(...) (systemd_fns()->sd_journal_test_cursor(__VA_ARGS__))
