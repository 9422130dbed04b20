/* Removing trees and checking directories (rollbacks of site jobs). */
#include "sys/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
        (void)sb;
        (void)flag;
        if (ftw->level == 0)
                return 0; /* the top is handled by the caller */
        if (remove(path) < 0 && errno != ENOENT)
                log_warn("rollback: cannot remove %s: %m", path);
        return 0;
}

void files_rm_tree(const char *dir, bool self)
{
        if (str_empty(dir))
                return;
        nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        if (self && rmdir(dir) < 0 && errno != ENOENT)
                log_warn("rollback: cannot remove %s: %m", dir);
}

bool files_dir_empty(const char *dir)
{
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return false;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return false;
        }
        bool empty = true;
        struct dirent *e;
        while ((e = readdir(d)))
                if (!streq(e->d_name, ".") && !streq(e->d_name, "..")) {
                        empty = false;
                        break;
                }
        closedir(d);
        return empty;
}
