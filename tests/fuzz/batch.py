"""Reads a batch of mutated checkpoints in one process and prints a JSON report (last stdout line).

    python -m tests.fuzz.batch FOLDER SENTINEL N [SEED]

Used by test_fuzz_checkpoints.py in a subprocess (under a timeout) so that the peak RSS it reports
belongs to the reader alone: every seed is read once first (imports, caches), then N cases drawn
from random.Random(SEED) with 1-4 mutations each (tests/fuzz/mutators.py). Report: cases, loaded,
refused, other_exceptions (type: message of anything but a one-line ValueError; must be empty),
rss_growth_mib (peak RSS after the batch minus peak after warm-up), slowest_s, gadget_fired.
"""
import json
import random
import resource
import sys
import time

from converters import load
from converters.torch_format import read_checkpoint_object
from tests.fuzz import gadgets, mutators

GADGET = ("tests.fuzz.gadgets", "trigger")


def _read(path):
    obj = read_checkpoint_object(path)
    try:
        load.read_generator_source(path)
    except ValueError:
        pass
    return obj


def main(folder, sentinel, count, seed=0):
    gadgets.SENTINEL[:] = [sentinel]
    seeds = mutators.seeds(sentinel, GADGET)
    names = sorted(seeds)
    path = f"{folder}/case.pth"
    for name in names:  # warm-up: every code path a well-formed file takes
        with open(path, "wb") as f:
            f.write(mutators.build_case(seeds[name], []))
        try:
            _read(path)
        except ValueError:
            pass
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rng = random.Random(seed)
    report = dict(cases=count, loaded=0, refused=0, other_exceptions=[], slowest_s=0.0)
    for _ in range(count):
        name = rng.choice(names)
        ops = mutators.random_ops(rng, rng.randint(1, 4))
        with open(path, "wb") as f:
            f.write(mutators.build_case(seeds[name], ops, whole_file=rng.random() < 0.3))
        start = time.perf_counter()
        try:
            _read(path)
            report["loaded"] += 1
        except ValueError as err:
            report["refused"] += 1
            if "\n" in str(err):
                report["other_exceptions"].append(f"multi-line ValueError ({name} {ops}): {err!r}"[:400])
        except Exception as err:  # the property under test: never anything else
            report["other_exceptions"].append(f"{type(err).__name__} ({name} {ops}): {err}"[:400])
        report["slowest_s"] = max(report["slowest_s"], time.perf_counter() - start)
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report.update(rss_growth_mib=(peak_after - peak_before) / 1024, peak_rss_mib=peak_after / 1024,
                  gadget_fired=gadgets.fired())
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
