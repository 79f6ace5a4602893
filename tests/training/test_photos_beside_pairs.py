"""training/inputs.PhotosBesidePairs: pair rows + 'real_'-prefixed folder rows, both positions in its state."""
from inversion3d.training.inputs import PhotosBesidePairs


class _Counter:
    def __init__(self, key):
        self.key, self.position = key, 0

    def __next__(self):
        self.position += 1
        return {self.key: self.position}

    def get_state(self):
        return {"position": self.position}

    def set_state(self, state):
        self.position = state["position"]


def test_batches_join_and_state_restores_both_positions():
    src = PhotosBesidePairs(_Counter("image"), _Counter("image"))
    first = next(src)
    assert first == {"image": 1, "real_image": 1}
    next(src)
    state = src.get_state()
    assert state == {"pairs": {"position": 2}, "real": {"position": 2}}
    after = next(src)
    again = PhotosBesidePairs(_Counter("image"), _Counter("image"))
    again.set_state(state)
    assert next(again) == after
