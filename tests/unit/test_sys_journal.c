/* sd-journal reading over real .journal files made from the export-format
 * fixture with systemd-journal-remote (skipped when the tool is missing). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "sys/exec.h"
#include "sys/journal.h"

#define JOURNAL_REMOTE "/lib/systemd/systemd-journal-remote"
#define BOOT_ID        "0123456789abcdef0123456789abcdef"

static char dir[] = "/tmp/setec-journal-XXXXXX";
static bool have_tool;
static int file_no;

static const char *const expected_all =
    "Mar 10 14:30:00 vps systemd[1]: Started Setec Manager.\n"
    "Mar 10 14:30:01 vps nginx[812]: nginx line one\n"
    "Mar 10 14:30:02 vps python3[900]: first line\n"
    "                                  second line\n"
    "Mar 10 14:30:03 vps systemd[1]: Stopped A high performance web server.\n"
    "Mar 10 14:30:04 vps nginx[813]: nginx line two\n";

/* Write export-format text to a fresh .journal file in dir. */
static void make_journal(const char *export_path)
{
        char out[256];
        snprintf(out, sizeof(out), "--output=%s/f%d.journal", dir, file_no++);
        const char *argv[] = {JOURNAL_REMOTE, out, export_path, NULL};
        struct exec_opts o = {.argv = argv, .timeout_ms = 20000};
        struct exec_result res;
        assert_int_equal(exec_run(&o, &res), 0);
        if (res.status != 0)
                fail_msg("journal-remote: %s", res.output);
        exec_result_free(&res);
}

/* Append one entry with the given monotonic/realtime offsets as its own file
 * in the watched directory (what a new journal file looks like to readers). */
static void add_entry(int k, const char *unit, const char *msg)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/extra%d.export", dir, k);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f,
                "__REALTIME_TIMESTAMP=%llu\n__MONOTONIC_TIMESTAMP=%llu\n_BOOT_ID=" BOOT_ID
                "\n_MACHINE_ID=fedcba9876543210fedcba9876543210\n_SYSTEMD_UNIT=%s\n"
                "SYSLOG_IDENTIFIER=test\n_PID=42\n_HOSTNAME=vps\nMESSAGE=%s\n\n",
                1741617010000000ULL + (unsigned long long)k * 1000000,
                100000000ULL + (unsigned long long)k * 1000000, unit, msg);
        fclose(f);
        make_journal(path);
        unlink(path);
}

static int setup(void **state)
{
        if (!mkdtemp(dir))
                return -1;
        setenv("SETEC_JOURNAL_DIR", dir, 1);
        setenv("TZ", "UTC", 1);
        tzset();
        have_tool = access(JOURNAL_REMOTE, X_OK) == 0;
        if (have_tool)
                make_journal(FIXTURES "/logs/basic.export");
        return 0;
}

static int teardown(void **state)
{
        const char *const argv[] = {"rm", "-rf", "--", dir, NULL};
        struct exec_opts o = {.argv = argv};
        struct exec_result res;
        if (exec_run(&o, &res) == 0)
                exec_result_free(&res);
        return 0;
}

#define NEED_TOOL()                                                                                \
        do {                                                                                       \
                if (!have_tool) {                                                                  \
                        print_message("skipped: " JOURNAL_REMOTE " is not installed\n");           \
                        skip();                                                                    \
                }                                                                                  \
        } while (0)

static void test_cursor_syntax(void **state)
{
        assert_true(journal_valid_cursor("s=abc;i=1;b=" BOOT_ID ";m=1;t=2;x=3"));
        assert_false(journal_valid_cursor(""));
        assert_false(journal_valid_cursor(NULL));
        assert_false(journal_valid_cursor("s=a b"));
        assert_false(journal_valid_cursor("s=a\n"));
        assert_false(journal_valid_cursor("s=\xc3\xa9"));
        char big[JOURNAL_CURSOR_MAX + 2];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_false(journal_valid_cursor(big));
        big[JOURNAL_CURSOR_MAX] = '\0';
        assert_true(journal_valid_cursor(big));
}

static void test_last_all(void **state)
{
        NEED_TOOL();
        struct strbuf b = STRBUF_INIT(1 << 20);
        assert_int_equal(journal_last(NULL, 100, &b), 0);
        assert_string_equal(b.data, expected_all);
        strbuf_reset(&b);
        assert_int_equal(journal_last(NULL, 2, &b), 0);
        assert_string_equal(b.data, "Mar 10 14:30:03 vps systemd[1]: Stopped A high performance "
                                    "web server.\n"
                                    "Mar 10 14:30:04 vps nginx[813]: nginx line two\n");
        strbuf_free(&b);
}

static void test_last_unit(void **state)
{
        NEED_TOOL();
        const char *want = "Mar 10 14:30:01 vps nginx[812]: nginx line one\n"
                           "Mar 10 14:30:03 vps systemd[1]: Stopped A high performance web "
                           "server.\n"
                           "Mar 10 14:30:04 vps nginx[813]: nginx line two\n";
        struct strbuf b = STRBUF_INIT(1 << 20);
        assert_int_equal(journal_last("nginx", 100, &b), 0);
        assert_string_equal(b.data, want);
        strbuf_reset(&b);
        assert_int_equal(journal_last("nginx.service", 100, &b), 0);
        assert_string_equal(b.data, want);
        strbuf_reset(&b);
        assert_int_equal(journal_last("no-such-unit", 100, &b), 0);
        assert_int_equal(b.len, 0);
        assert_int_equal(journal_last("bad unit;rm", 100, &b), -EINVAL);
        assert_int_equal(journal_last("-x", 100, &b), -EINVAL);
        strbuf_free(&b);
}

/* A buffer that cannot hold everything keeps the newest entries. */
static void test_last_bounded(void **state)
{
        NEED_TOOL();
        struct strbuf b = STRBUF_INIT(120);
        assert_int_equal(journal_last(NULL, 100, &b), 0);
        assert_string_equal(b.data, "Mar 10 14:30:03 vps systemd[1]: Stopped A high performance "
                                    "web server.\n"
                                    "Mar 10 14:30:04 vps nginx[813]: nginx line two\n");
        strbuf_free(&b);
}

struct events {
        size_t n;
        char *cursor[16];
        char *line[16];
};

static int collect(void *cls, const char *cursor, const char *line, size_t len)
{
        struct events *e = cls;
        assert_true(e->n < 16);
        assert_int_equal(strlen(line), len);
        e->cursor[e->n] = strdup(cursor);
        e->line[e->n++] = strdup(line);
        return 0;
}

static void events_free(struct events *e)
{
        for (size_t i = 0; i < e->n; i++) {
                free(e->cursor[i]);
                free(e->line[i]);
        }
        e->n = 0;
}

/* Wait (at most ms) for the stream's fd, then pump. */
static void wait_pump(struct journal_stream *s, int ms, struct events *e)
{
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        size_t before = e->n;
        for (;;) {
                clock_gettime(CLOCK_MONOTONIC, &t1);
                long left =
                    ms - ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
                if (left <= 0)
                        return;
                struct pollfd p = {.fd = journal_stream_fd(s), .events = POLLIN};
                poll(&p, 1, (int)left);
                assert_int_equal(journal_stream_pump(s, 0, collect, e), 0);
                if (e->n > before)
                        return;
        }
}

static void test_stream_follow_and_resume(void **state)
{
        NEED_TOOL();
        struct journal_stream *s = NULL;
        struct events e = {0};
        assert_int_equal(journal_stream_open("nginx", NULL, 0, &s), 0);
        assert_true(journal_stream_fd(s) >= 0);
        /* opened at the tail: nothing old */
        assert_int_equal(journal_stream_pump(s, 0, collect, &e), 0);
        assert_int_equal(e.n, 0);
        /* another unit's line does not show; ours arrives within a second */
        add_entry(1, "other.service", "not for us");
        add_entry(2, "nginx.service", "fresh line");
        wait_pump(s, 1000, &e);
        assert_int_equal(e.n, 1);
        assert_string_equal(e.line[0], "Mar 10 14:30:12 vps test[42]: fresh line");
        assert_true(journal_valid_cursor(e.cursor[0]));
        char *resume = strdup(e.cursor[0]);
        journal_stream_free(s);
        events_free(&e);

        /* entries logged while nobody listened come after the cursor */
        add_entry(3, "nginx.service", "while away");
        add_entry(4, "nginx.service", "second while away");
        assert_int_equal(journal_stream_open("nginx", resume, 0, &s), 0);
        assert_int_equal(journal_stream_pump(s, 0, collect, &e), 0);
        assert_int_equal(e.n, 2);
        assert_string_equal(e.line[0], "Mar 10 14:30:13 vps test[42]: while away");
        assert_string_equal(e.line[1], "Mar 10 14:30:14 vps test[42]: second while away");
        journal_stream_free(s);
        events_free(&e);
        free(resume);

        /* multi-line messages keep their lines (one data: line each in SSE) */
        assert_int_equal(journal_stream_open(NULL, NULL, 4, &s), 0);
        assert_int_equal(journal_stream_pump(s, 1, collect, &e), 0);
        assert_int_equal(e.n, 1); /* max_entries honoured */
        assert_int_equal(journal_stream_pump(s, 0, collect, &e), 0);
        assert_int_equal(e.n, 4);
        assert_string_equal(e.line[3], "Mar 10 14:30:14 vps test[42]: second while away");
        journal_stream_free(s);
        events_free(&e);

        assert_int_equal(journal_stream_open(NULL, NULL, 100, &s), 0);
        assert_int_equal(journal_stream_pump(s, 0, collect, &e), 0);
        assert_int_equal(e.n, 9);
        assert_string_equal(e.line[2], "Mar 10 14:30:02 vps python3[900]: first line\nsecond line");
        journal_stream_free(s);
        events_free(&e);
}

static void test_stream_bad_input(void **state)
{
        NEED_TOOL();
        struct journal_stream *s = NULL;
        assert_int_equal(journal_stream_open("bad unit", NULL, 0, &s), -EINVAL);
        assert_int_equal(journal_stream_open("nginx", "has space", 0, &s), -EINVAL);
        assert_int_equal(journal_stream_open("nginx", "garbage-cursor", 0, &s), -EINVAL);
        assert_null(s);
}

static void test_empty_dir(void **state)
{
        char empty[] = "/tmp/setec-journal-empty-XXXXXX";
        assert_non_null(mkdtemp(empty));
        setenv("SETEC_JOURNAL_DIR", empty, 1);
        struct strbuf b = STRBUF_INIT(1024);
        assert_int_equal(journal_last(NULL, 10, &b), 0);
        assert_int_equal(b.len, 0);
        strbuf_free(&b);
        struct journal_stream *s = NULL;
        struct events e = {0};
        assert_int_equal(journal_stream_open(NULL, NULL, 0, &s), 0);
        assert_int_equal(journal_stream_pump(s, 0, collect, &e), 0);
        assert_int_equal(e.n, 0);
        journal_stream_free(s);
        setenv("SETEC_JOURNAL_DIR", dir, 1);
        rmdir(empty);
}

/* A unit that has never logged: its first line is still followed (a tail
 * position with no matching entry must not stay stuck at the tail). */
static void test_stream_unit_without_entries(void **state)
{
        NEED_TOOL();
        struct journal_stream *s = NULL;
        struct events e = {0};
        assert_int_equal(journal_stream_open("newcomer", NULL, 0, &s), 0);
        assert_int_equal(journal_stream_pump(s, 0, collect, &e), 0);
        assert_int_equal(e.n, 0);
        add_entry(20, "other.service", "noise");
        add_entry(21, "newcomer.service", "first words");
        wait_pump(s, 1000, &e);
        assert_int_equal(e.n, 1);
        assert_string_equal(e.line[0], "Mar 10 14:30:31 vps test[42]: first words");
        journal_stream_free(s);
        events_free(&e);
        /* same with a backlog asked for */
        assert_int_equal(journal_stream_open("newcomer2", NULL, 50, &s), 0);
        assert_int_equal(journal_stream_pump(s, 0, collect, &e), 0);
        assert_int_equal(e.n, 0);
        add_entry(22, "newcomer2.service", "hello");
        wait_pump(s, 1000, &e);
        assert_int_equal(e.n, 1);
        journal_stream_free(s);
        events_free(&e);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cursor_syntax),
            cmocka_unit_test(test_last_all),
            cmocka_unit_test(test_last_unit),
            cmocka_unit_test(test_last_bounded),
            cmocka_unit_test(test_stream_follow_and_resume),
            cmocka_unit_test(test_stream_bad_input),
            cmocka_unit_test(test_empty_dir),
            cmocka_unit_test(test_stream_unit_without_entries),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
