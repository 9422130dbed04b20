"""Local git repositories for tests: a bare repository to create sites from
(git.local_root) and pushes of new commits to deploy."""
import os
import subprocess


def git(*args, cwd=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_SYSTEM="/dev/null")
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def make_bare_repo(root, name, files, work_dir):
    """A bare repository <root>/<name>.git on branch main holding files."""
    work = os.path.join(work_dir, name + "-work")
    os.makedirs(work)
    git("init", "-q", "-b", "main", cwd=work)
    for rel, text in files.items():
        path = os.path.join(work, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    bare = os.path.join(root, name + ".git")
    git("clone", "-q", "--bare", work, bare)
    return bare, work


def push_change(work, bare, rel, text):
    with open(os.path.join(work, rel), "w") as f:
        f.write(text)
    git("commit", "-q", "-am", "change", cwd=work)
    git("push", "-q", bare, "main", cwd=work)
