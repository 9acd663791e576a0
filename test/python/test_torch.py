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
    assert len(reference) == len(tensors) > 0
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
