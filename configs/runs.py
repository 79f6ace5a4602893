"""The run sections every training config shares (mesh, multi-host, checkpoints, logging), defined once.

`run_sections(checkpoint_every, log_every, image_every, image_rows, eval_every)` -> the dict of ConfigDicts a
method's `get_config()` adds to its config (`config.update(run_sections(...))`); the meaning of each
field is in the README's "Training" section and inversion3d/training/loop.py.
"""
import ml_collections


def run_sections(checkpoint_every: int, log_every: int, image_every: int, image_rows: int = 4,
                 eval_every: int = 0) -> dict:
    """mesh (all local devices, jit data parallelism), distributed (auto-detected), checkpoint (last 2 +
    the best by loss, asynchronous, fall back past a damaged one), logging (TensorBoard + metrics.jsonl,
    no profile), held-out evaluation every `eval_every` steps (0 = off; methods with `evaluate`), the
    encoders' compute dtype (float32), debug hooks off, on_nonfinite 'stop' (README "Long runs and preemption")."""
    return dict(
        mesh=ml_collections.ConfigDict(dict(num_devices=0, mode="jit", fsdp=False, fsdp_min_size=2 ** 14)),
        distributed=ml_collections.ConfigDict(dict(enabled="auto", coordinator_address="", num_processes=0,
                                                   process_id=-1)),
        checkpoint=ml_collections.ConfigDict(dict(every=checkpoint_every, keep=2, keep_best=1, best_metric="loss",
                                                  best_mode="min", async_save=True,
                                                  on_corrupt="fallback")),  # | 'stop' (damaged latest checkpoint)
        logging=ml_collections.ConfigDict(dict(log_every=log_every, image_every=image_every, image_rows=image_rows,
                                               tensorboard=True, profile_at=0, profile_steps=3)),  # trace from profile_at (0 = off)
        # held-out evaluation (training/evaluation.py, methods/evaluation.py): every `every` steps (0 = off),
        # num_batches x batch_size pseudo-pairs from pair index first_index on; novel views at yaw pi/2 -+ novel_yaw
        eval=ml_collections.ConfigDict(dict(every=eval_every, batch_size=4, num_batches=1, first_index=2 ** 30,
                                            novel_yaw=0.4)),
        # the encoders' compute dtype: 'float32' | 'bfloat16' (TPU / GPU; params and optimiser state stay
        # float32, nn/precision.py); the generator has its own (generator.compute_dtype where a method has it)
        encoder=ml_collections.ConfigDict(dict(dtype="float32")),
        debug=ml_collections.ConfigDict(dict(nonfinite_at=0)),  # tests: NaN inputs at this step (0 = off)
        on_nonfinite="stop")  # NaN / Inf in a step: 'stop' (exit 65, last good checkpoint kept) | 'skip' the update
