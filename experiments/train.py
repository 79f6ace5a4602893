"""Training launcher (flax imagenet `main.py` shape): absl flags -> train_and_evaluate of the method
named by config.method (inversion3d/methods/registry.py).

  .venv/bin/python experiments/train.py --config configs/toy_psp.py --workdir out/toy_psp \
      --config.batch_size=8 --config.total_steps=200
Multi-host (TPU pods, multi-node GPU): run the same command on every host; JAX discovers the
cluster (or pass --config.distributed.coordinator_address=HOST:PORT
--config.distributed.num_processes=N --config.distributed.process_id=I). See README "Training".
Exit codes (README "Long runs and preemption"): 0 done; 75 stopped by SIGTERM / SIGINT after
saving (run it again to resume); 65 non-finite loss with on_nonfinite='stop'; 74 no intact checkpoint.
"""
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Training configuration file.", lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints and logs (resumes from it).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    logging.set_verbosity(logging.WARNING)  # Orbax logs every save step at INFO
    from inversion3d.methods import registry  # after flag parsing: JAX starts here
    from inversion3d.training import loop, stopping

    try:
        loop.train_and_evaluate(FLAGS.config, FLAGS.workdir, registry.trainer(FLAGS.config.method))
    except stopping.TrainingStopped as e:  # an intended stop: one line, its exit code
        print(e, file=sys.stderr, flush=True)
        sys.exit(e.exit_code)
    except ValueError as err:  # a config or data problem the user can fix: one line, no traceback
        sys.exit(f"train.py: error: {' '.join(str(err).split())}")


def refuse_renamed(argv):
    """One line (not ml_collections' traceback) for an override of a renamed config key."""
    from inversion3d.methods.frozen_generator import RENAMED

    for arg in argv[1:]:
        key = arg.split("=", 1)[0].removeprefix("--config.")
        if key in RENAMED:
            sys.exit(f"train.py: error: --config.{key}: renamed --config.{RENAMED[key]}")


if __name__ == "__main__":
    refuse_renamed(sys.argv)
    app.run(main)
