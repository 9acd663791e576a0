"""PyTorch output: same values as NumPy, shared memory on the CPU, fit for training loops."""

from __future__ import annotations

import numpy as np
import pytest

import ROOT

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def make(path, **kwargs):
    return ROOT.ML.RDataLoader(ROOT.RDataFrame("tree", path), batch_size=64, set_seed=5, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(columns=["x", "y"]),
        dict(columns=["x", "y", "label"], target="label"),
        dict(columns=["x", "y", "label"], target="label", dtypes={"label": "int64"}),
        dict(columns=["x", "label", "y"], target="label", weights="y"),
        dict(columns=["x", "label", "y"], target=["label", "y"]),
    ],
)
def test_torch_values_match_numpy(clustered_file, kwargs):
    reference = list(make(clustered_file, **kwargs).as_numpy())
    tensors = list(make(clustered_file, **kwargs).as_torch())
    # Whole batches of 64 only (drop_remainder by default), from the file's entry count.
    assert len(reference) == len(tensors) == ROOT.RDataFrame("tree", clustered_file).Count().GetValue() // 64
    for ref, got in zip(reference, tensors):
        ref = ref if isinstance(ref, tuple) else (ref,)
        got = got if isinstance(got, tuple) else (got,)
        assert len(ref) == len(got)
        for r, g in zip(ref, got):
            assert isinstance(g, torch.Tensor) and g.dtype == torch.from_numpy(r).dtype
            assert np.array_equal(g.numpy(), r)


def test_torch_tensors_share_the_batch_memory(clustered_file):
    loader = make(clustered_file, columns=["x", "label"], target="label")
    for x, y in loader.as_torch():
        break
    numpy_view = x.numpy()
    assert x.data_ptr() == numpy_view.__array_interface__["data"][0]
    assert numpy_view.base is not None and not numpy_view.flags.owndata


def test_integer_labels_feed_cross_entropy_directly(clustered_file):
    loader = make(clustered_file, columns=["x", "y", "label"], target="label", dtypes={"label": "int64"})
    model = torch.nn.Linear(2, 2)
    for x, y in loader.as_torch():
        assert y.dtype == torch.int64 and y.shape == (x.shape[0],)
        torch.nn.functional.cross_entropy(model(x), y).backward()


def test_used_the_way_lightning_uses_a_loader(clustered_file):
    train, val = make(clustered_file, columns=["x", "y", "label"], target="label").train_test_split(0.2)
    train_batches, val_batches = train.as_torch(), val.as_torch()
    for epoch in range(3):
        assert len(train_batches) == train.num_batches
        for step, _ in enumerate(train_batches):
            if step == 5 and epoch == 1:
                break
        assert sum(1 for _ in val_batches) == len(val_batches)


def test_lightning_trainer_fits_on_the_loader(clustered_file):
    lightning = pytest.importorskip("lightning")

    class Model(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Linear(2, 1)

        def training_step(self, batch, _):
            x, y = batch
            return torch.nn.functional.binary_cross_entropy_with_logits(self.net(x), y)

        def validation_step(self, batch, _):
            x, y = batch
            self.log("val_loss", torch.nn.functional.binary_cross_entropy_with_logits(self.net(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    train, val = make(clustered_file, columns=["x", "y", "label"], target="label").train_test_split(0.2)
    trainer = lightning.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(Model(), train_dataloaders=train.as_torch(), val_dataloaders=val.as_torch())
    assert trainer.current_epoch == 2
    assert train.stats()["complete"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_arrive_on_the_device(clustered_file):
    loader = make(clustered_file, columns=["x", "y", "label"], target="label")
    reference = list(make(clustered_file, columns=["x", "y", "label"], target="label").as_numpy())
    for (x, y), (rx, ry) in zip(loader.as_torch(device="cuda"), reference):
        assert x.is_cuda and y.is_cuda
        assert np.array_equal(x.cpu().numpy(), rx) and np.array_equal(y.cpu().numpy(), ry)


def test_keras_on_the_torch_backend_fits_on_a_torch_dataloader(sorted_signal_background):
    pytest.importorskip("keras")
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import keras, ROOT
        dfs = [ROOT.RDataFrame("tree", f).Define("f1", "(float)(label + 0.3 * (idx % 5))")
               for f in {list(sorted_signal_background)!r}]
        train, val = ROOT.ML.RDataLoader(dfs, batch_size=64, columns=["f1", "label"], target="label",
                                         set_seed=2).train_test_split(0.25)
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
        history = model.fit(train.as_torch_dataloader(), validation_data=val.as_torch_dataloader(), epochs=3,
                            verbose=0)
        assert keras.backend.backend() == "torch"
        losses = history.history["loss"]
        assert losses[-1] < losses[0], losses
        assert train.stats()["complete"], train.stats()
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def _worker_epochs(dataset, workers: int, epochs: int = 2, **kwargs) -> list[np.ndarray]:
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=workers, **kwargs)
    runs = []
    for _ in range(epochs):
        batches = [b[0] if isinstance(b, (tuple, list)) else b for b in loader]
        assert len(batches) == len(loader)
        runs.append(np.concatenate([b[:, 0].numpy() for b in batches]).astype(np.int64))
    return runs


@pytest.mark.parametrize("workers", [0, 2, 3])
@pytest.mark.parametrize("drop_remainder", [False, True])
def test_dataloader_workers_read_disjoint_shares_of_every_epoch(clustered_file, workers, drop_remainder):
    # DataLoader(dataset, num_workers=2) used to deliver every entry twice, and DataLoader(loader.as_torch(),
    # num_workers=2) failed in the workers.
    loader = make(clustered_file, columns=["idx", "x"], dtypes={"idx": "float64", "x": "float64"},
                  drop_remainder=drop_remainder)
    for dataset in (loader.as_torch(), loader.as_torch_dataloader().dataset):
        first, second = _worker_epochs(dataset, workers)
        for order in (first, second):
            assert len(order) == len(np.unique(order)) == (960 if drop_remainder else 1000)
            assert set(order) <= set(range(1000))
        assert len(dataset) == loader.num_batches == (15 if drop_remainder else 16)
        assert not np.array_equal(first, second)  # a new epoch every iteration


def test_as_torch_compiles_the_epoch_code_for_the_workers_without_starting_an_epoch(clustered_file):
    """torch forks new workers for every epoch: as_torch() has cling compile the epoch code in the parent first
    (the suite runs without compiled engines), so that they inherit it, and that neither starts nor counts an
    epoch."""
    kwargs = dict(columns=["idx", "x"], dtypes={"idx": "float64", "x": "float64"}, drop_remainder=False)
    warmed = make(clustered_file, **kwargs)
    warmed.as_torch()
    engine = warmed._ensure_engine()
    before = ROOT.gInterpreter.GetInterpreterStateMarker()
    engine.compile_epochs()
    assert ROOT.gInterpreter.GetInterpreterStateMarker() == before  # nothing left to compile

    reference = make(clustered_file, **kwargs)
    for _ in range(2):
        assert all(np.array_equal(a[:, 0], b[:, 0]) for a, b in zip(warmed.as_numpy(), reference.as_numpy(),
                                                                      strict=True))


def test_dataloader_workers_within_ddp_ranks_cover_the_epoch_once(clustered_file):
    runs = {}
    for rank in (0, 1):
        dataset = make(clustered_file, columns=["idx", "x"], dtypes={"idx": "float64", "x": "float64"},
                       drop_remainder=False, rank=rank, world_size=2).as_torch()
        runs[rank] = []
        for epoch in (0, 1):
            dataset.set_epoch(epoch)  # the same epoch on every rank, as with DistributedSampler
            runs[rank] += _worker_epochs(dataset, 2, epochs=1)
    for epoch in (0, 1):
        together = np.concatenate([runs[0][epoch], runs[1][epoch]])
        assert len(together) == len(np.unique(together)) == 1000
    assert not np.array_equal(runs[0][0], runs[0][1])


def test_set_epoch_gives_the_same_epoch_with_and_without_workers(clustered_file):
    dataset = make(clustered_file, columns=["idx", "x"], dtypes={"idx": "float64", "x": "float64"},
                   drop_remainder=False).as_torch()
    dataset.set_epoch(3)
    (alone,) = _worker_epochs(dataset, 0, epochs=1)
    dataset.set_epoch(3)
    (shared,) = _worker_epochs(dataset, 2, epochs=1)
    assert np.array_equal(np.sort(alone), np.sort(shared)) and len(alone) == 1000
    dataset.set_epoch(3)
    (again,) = _worker_epochs(dataset, 2, epochs=1)
    assert np.array_equal(np.sort(again[:320]), np.sort(shared[:320]))  # the first batches, whichever worker


def test_dataloader_workers_pin_memory(clustered_file):
    loader = make(clustered_file, columns=["idx", "x"], dtypes={"idx": "float64", "x": "float64"},
                  drop_remainder=False)
    (order,) = _worker_epochs(loader.as_torch(), 2, epochs=1, pin_memory=True)
    assert np.array_equal(np.sort(order), np.arange(1000))


def test_len_inside_a_worker_is_that_workers_batches(clustered_file):
    loader = make(clustered_file, columns=["idx", "x"], dtypes={"idx": "float64", "x": "float64"},
                  drop_remainder=False)
    dataset = loader.as_torch()

    class Counted(torch.utils.data.IterableDataset):
        def __iter__(self):
            batches = list(dataset)
            # one marker per worker: its id, its len() and the batches it delivered
            yield torch.tensor([torch.utils.data.get_worker_info().id, len(dataset), len(batches)])

    reports = list(torch.utils.data.DataLoader(Counted(), batch_size=None, num_workers=3))
    assert sorted(r[0].item() for r in reports) == [0, 1, 2]
    assert all(r[1].item() == r[2].item() for r in reports)
    assert sum(r[2].item() for r in reports) == loader.num_batches == 16


def test_wrapping_the_loader_itself_in_a_dataloader_points_to_as_torch(clustered_file):
    loader = make(clustered_file, columns=["x"])
    with pytest.raises(TypeError, match=r"an RDataLoader is not a dataset of entries: .*wrap loader.as_torch\(\)"):
        list(torch.utils.data.DataLoader(loader, batch_size=None))
    assert loader  # truth testing does not go through len()


def test_workers_refuse_what_cannot_be_shared_with_the_way_out(clustered_file):
    exact = make(clustered_file, columns=["idx", "x"], shuffle="global")
    with pytest.raises(ValueError, match=r"shuffle='global' reads its pile cache in one process: use num_workers=0"):
        _worker_epochs(exact.as_torch(), 2, epochs=1)
    spawned = torch.utils.data.DataLoader(make(clustered_file, columns=["x"]).as_torch(), batch_size=None,
                                          num_workers=1, multiprocessing_context="spawn")
    with pytest.raises(TypeError, match="cannot be pickled or copied.*the default 'fork' start method"):
        list(spawned)
