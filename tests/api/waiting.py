"""Waiting for a condition, never for a time: every test polls through
wait_for, so a busy machine only makes a test slower, never wrong."""
import time

POLL_S = 0.05


def wait_for(cond, timeout=10, what=None, errors=(), interval=POLL_S):
    """cond() until it returns something true, which is returned; exceptions
    of the types in `errors` count as false. At the deadline: with `what`, an
    AssertionError naming it; without, the last (false) value. `interval`
    is how often cond() runs (where each try costs something, e.g. a login
    that a rate limit counts)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = cond()
        except errors:
            v = None
        if v or time.monotonic() > deadline:
            break
        time.sleep(interval)
    if not v and what:
        raise AssertionError("timed out waiting for " + what)
    return v
