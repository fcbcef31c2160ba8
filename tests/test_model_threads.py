"""A model's initial weights depend on its seed alone, also when threads build models at once
(the engine runs in a thread of the test suite's windows while a test trains a reference)."""

import threading

import torch

from engine.model import build_model


def weights(model) -> bytes:
    return b"".join(p.detach().numpy().tobytes() for p in model.parameters())


def test_models_built_by_several_threads_at_once_have_their_seeds_weights():
    seeds = list(range(8))
    expected = {seed: weights(build_model("bottleneck", seed)) for seed in seeds}
    wrong: list[int] = []
    start = threading.Barrier(4)

    def build(offset: int) -> None:
        start.wait()
        for k in range(200):
            seed = seeds[(k + offset) % len(seeds)]
            if weights(build_model("bottleneck", seed)) != expected[seed]:
                wrong.append(seed)

    threads = [threading.Thread(target=build, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong, f"{len(wrong)} of 800 builds got another seed's weights"
    state = torch.random.get_rng_state()
    build_model("article", 3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is left as it was
