"""Settings and checks shared by the fuzz tests (issue 20 B4).

Every fuzz test is reproducible (derandomize: the same examples on every run, no example database)
and bounded: a fixed number of examples, a generous per-example deadline, and `time_bound` around
each reader call, which turns a hang into a failure naming the input instead of a stuck CI run.
The property checked everywhere: a reader returns, or raises a ValueError (our error types derive
from it) whose message is one line; any other exception type is a bug.
"""
import contextlib
import datetime
import os
import signal

from hypothesis import HealthCheck, settings

CASE_SECONDS = 10  # per reader call; every case here takes milliseconds
# Longer local runs: INVERSION3D_FUZZ_SCALE=20 tries 20x the examples (and other ones: the seed differs).
SCALE = float(os.environ.get("INVERSION3D_FUZZ_SCALE", "1"))


def fuzz_settings(max_examples: int, deadline_s: float = 5.0):
    """CI settings: `max_examples` (times SCALE) reproducible examples, `deadline_s` per example."""
    return settings(max_examples=max(1, int(max_examples * SCALE)), derandomize=SCALE == 1,
                    deadline=datetime.timedelta(seconds=deadline_s), database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])


class Hang(BaseException):
    """Raised by `time_bound` (a BaseException, so a reader's `except Exception` cannot swallow it)."""


@contextlib.contextmanager
def time_bound(seconds: float = CASE_SECONDS, what: str = "reader"):
    def expire(signum, frame):
        raise Hang(f"{what} did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def result_or_one_line_error(fn, *args, what="reader", **kwargs):
    """-> (result, None) or (None, message) of fn(*args); fails on any exception but a one-line ValueError."""
    with time_bound(what=what):
        try:
            return fn(*args, **kwargs), None
        except ValueError as err:
            message = str(err)
            assert message and "\n" not in message, f"{type(err).__name__} is not one line: {message!r}"
            return None, message
