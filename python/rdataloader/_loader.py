"""``ROOT.ML.RDataLoader``: the Python face of ``ROOT::ML::RDataLoader<Columns...>``."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import _state
from ._batches import Batches
from ._engine import Engine
from ._normalization import Normalization
from ._options import checked_options
from ._reweighting import Reweighting
from ._spec import LoaderOptions, LoaderSpec, SplitSpec, build_spec, build_split

_TRAIN, _VALIDATION = 0, 1


class RDataLoader:
    """Shuffled mini-batches of RDataFrame entries for NumPy, PyTorch, TensorFlow/Keras and JAX.

    A drop-in replacement for ROOT 6.40's ``ROOT.Experimental.ML.RDataLoader``: same arguments,
    same methods. Entries are read on a background C++ thread, cluster by cluster, into a shuffle
    window of ``batches_in_memory`` batches; each value is copied once, straight into the memory
    the returned arrays wrap.

    Parameters
    ----------
    rdataframes : RDataFrame, RNode, list of them, or a function returning them
        What to read; ``Filter``, ``Define`` and ``Range`` are honoured. Several dataframes (for
        example one per physics process) form one dataset and are shuffled together. A function is
        called once per reading thread and must build new dataframes with the same files, Defines and
        Filters each time: a dataframe runs one event loop at a time, so each build computes the
        Defines and Filters of its own part of every read.
    batch_size : int
        Entries per batch.
    batches_in_memory : int, optional
        Size of the shuffle window, in batches: entries are mixed within this many batches. The
        loader holds about twice this (the window being filled and finished batches waiting).
        Default: about 48 MiB of batch memory.
    columns : list of str, optional
        Columns to load; all columns by default.
    max_vec_sizes : dict of str to int, optional
        Length of each vector (``RVec``/``std::vector``/array) column: shorter vectors are padded
        with ``vec_padding``, longer ones truncated. Required for every vector column.
    vec_padding : float
        Padding value for vector columns.
    target : str or list of str, optional
        Column(s) returned as targets ``y``.
    weights : str, optional
        Column returned as per-entry weights ``w``; needs a target.
    shuffle : bool or "global"
        Shuffle the reading order and the entries, differently in each epoch. ``True`` mixes the entries
        within the window of ``batches_in_memory`` batches while streaming. ``"global"`` is the exact
        shuffle: the first epoch of each split copies it, in random piles of about one window each, to
        local disk (``cache_dir``), and every epoch reads the piles in a new random order and permutes
        each, so every batch is a uniform sample of the whole split, for sorted datasets of any size.
        The cache takes as much disk as the split's arrays and is deleted by ``close()`` or when the
        loader goes away; ``stats()`` gives its directory and size.
    drop_remainder : bool
        Drop the last, incomplete batch of each split.
    set_seed : int
        Seed of every random choice: the same seed gives bit-identical epochs. 0 draws a seed.
    load_eager : bool
        Shuffle over the whole split at once (holds the whole split in memory).
    sampling_type : {"undersampling", "oversampling"}, optional
        Resample in every epoch, while streaming (no ``load_eager`` needed), drawn anew each epoch
        from the seed; what is balanced is ``resample_by``'s. As in ROOT's loader (the default),
        ``rdataframes`` is two dataframes: the one with more entries is the majority (the second on a
        tie), the other the minority, whatever the targets hold. Each dataframe is split first, then
        each split is resampled on its own: undersampling keeps ``int(minority / sampling_ratio)``
        majority entries and every minority entry; oversampling draws ``int(sampling_ratio x
        majority)`` minority entries and keeps every majority entry. Unshuffled, an epoch delivers the
        first majority entries (undersampling) or the minority entries over and over (oversampling),
        then the other dataframe. Sizes are exact in every epoch. Not with ``class_weights``, nor with
        ``world_size > 1``.
    sampling_ratio : float
        Minority over majority (smallest over largest class) after resampling, in (0, 1].
    replacement : bool
        Draw the kept or repeated entries independently (an entry may come several times, or not at
        all); by default undersampling keeps distinct entries and oversampling repeats every entry
        floor or ceil(target / size) times. Undersampling dataframes to more majority entries than
        there are needs it. Unshuffled epochs by dataframe are ROOT's whatever its value.

    Other Parameters
    ----------------
    dtypes : dict of str to dtype, optional
        Deliver these columns in the given NumPy dtype instead of float32, with no float round
        trip (e.g. ``{"label": "int64"}``). A single integer target comes as a 1-D array of class
        labels. Values that do not fit the dtype raise instead of wrapping.
    normalize : {"standard", "minmax"}, dict, Normalization or None
        Scale the features, with statistics fitted on the training split only (one pass over the
        data when the loader starts), inside the engine's single copy. A dict picks the method per
        column (``{"pt": "minmax", "eta": "standard"}``; others are left alone); a
        :class:`Normalization` (``loader.normalization``, saved and loaded as JSON) applies fitted
        statistics again, at inference time for example.
    class_weights : "balanced" or dict of int to float, optional
        Deliver weights ``w`` = weight of the entry's class x its ``weights`` column (if any), for
        imbalanced classification without resampling. ``"balanced"`` uses n / (classes x n_class)
        counted on the training split; needs one target column of whole-number labels.
    reweight : dict, optional
        Kinematic reweighting: ``{"columns": ["Jet_pt", "Jet_eta"], "bins": {"Jet_pt": [20, 50, 100, 500],
        "Jet_eta": [-2.5, 0, 2.5]}, "reference": "flat"}`` (``bins`` a list of edges for every column, or per
        column; ``reference`` ``"flat"`` or a class label). In the pass that counts the classes, the training
        entries of each class are counted in the grid of bins of these scalar columns, and every entry's
        weight ``w`` is multiplied by reference(bin) / (its class's share of the bin), so that each class's
        weighted distribution of the columns is the reference's (flat over the bins the training split fills,
        or the distribution of that class, whose entries then weigh 1). Values outside the edges count in the
        first or last bin. Combines with ``weights`` and ``class_weights``; ``loader.reweighting`` is the table.
    collections : dict of str to (list of str, int), optional
        Object collections: ``{"muons": (["Muon_pt", "Muon_eta", "Muon_phi"], 4)}`` groups vector
        columns holding one value per object (equal lengths in each entry, or the loader raises naming
        the entry) and keeps at most ``max_len`` objects per entry (``suggest_max_len`` proposes one).
        ``x`` then becomes a dictionary: ``"features"`` (the flat features, if any), and per collection
        its values with a mask or offsets (see ``collections_layout``). ``dtypes={"muons": ...}`` sets a
        collection's dtype; empty slots hold ``vec_padding``. Objects beyond ``max_len`` are dropped and
        counted in ``stats()["truncated_objects"]``.
    collections_layout : {"padded", "packed"}
        ``"padded"``: ``x["muons"]`` is ``(rows, max_len, fields)`` and ``x["muons_mask"]`` the
        ``(rows, max_len)`` booleans marking real objects. ``"packed"``: ``x["muons"]`` is
        ``(objects, fields)``, the objects of all entries back to back, and ``x["muons_offsets"]`` the
        ``rows + 1`` int64 offsets (entry ``i`` owns objects ``offsets[i]:offsets[i + 1]``), as
        ``cu_seqlens`` in variable-length attention: no padding at all.
    sort_by : dict of str to str, optional
        Order each collection's objects by a vector column, largest first, before truncating
        (``{"muons": "Muon_pt"}`` keeps the leading muons); stored order otherwise. The column is one
        of the fields or another vector column of the same length.
    validation_split : float, optional
        If given, the constructor returns ``(train, validation)`` directly, as
        ``RDataLoader(...).train_test_split(validation_split)`` does.
    rank, world_size : int, optional
        Distributed data-parallel training: this process reads shard ``rank`` of ``world_size``
        disjoint shards of equal size, drawn anew every epoch from the seed (so ``set_seed`` must be
        the same non-zero value in every process). Every rank delivers the same number of batches.
        Taken from ``torch.distributed`` when it is initialised and they are not given.
    cache_dir : str or path, optional
        Where ``shuffle="global"`` keeps its piles (a directory of its own is made in it): the system's
        temporary directory (``TMPDIR``) by default. Prefer a local disk.
    read_threads : int
        Threads reading and decompressing the files: TTree baskets (scalar, leaf-list array and vector
        branches) and RNTuple pages are read in parallel, straight into the batches; filters run once,
        when the entries are counted, and epochs pick the passing entries. Defined columns, friends and
        the other cases in the README go through RDataFrame's event loop on the loading thread
        (``stats()["read_paths"]`` says which path read each column). ``0`` sends every column through
        the event loop. The batches are the same either way.
    resample_by : {"dataframe", "target"}
        What ``sampling_type`` balances. ``"dataframe"`` (the default) is ROOT's meaning: two
        dataframes, majority and minority, both splits resampled. ``"target"`` is this package's
        extension: the classes of the single target (whole-number labels, any number of classes and
        dataframes), each class cut to at most (smallest class) / ``sampling_ratio`` entries
        (undersampling) or repeated up to at least ``sampling_ratio`` x (largest class)
        (oversampling); the training split only, so that validation measures the true mixture.
    progress : bool
        Show the progress of a pass that keeps you waiting for more than a few seconds (``save``, and the
        first epoch of ``shuffle="global"``, which copies the split to its piles): a tqdm bar where tqdm is
        installed, a line on stderr every few seconds otherwise. ``False`` keeps them quiet.

    Examples
    --------
    >>> train, val = ROOT.ML.RDataLoader(df, batch_size=128, target="label").train_test_split(0.2)
    >>> for x, y in train.as_torch():
    ...     ...

    With collections, ``x`` is a dictionary:

    >>> loader = ROOT.ML.RDataLoader(df, columns=["MET", "label"], target="label",
    ...                              collections={"muons": (["Muon_pt", "Muon_eta"], 4)},
    ...                              sort_by={"muons": "Muon_pt"})
    >>> for x, y in loader.as_torch():
    ...     model(x["features"], x["muons"], x["muons_mask"])
    """

    def __new__(cls, *args: Any, validation_split: float | None = None, **kwargs: Any):
        if validation_split is None:
            return super().__new__(cls)
        loader = super().__new__(cls)
        loader.__init__(*args, **kwargs)
        return loader.train_test_split(validation_split)

    def __init__(
        self,
        rdataframes,
        batch_size: int = 64,
        batches_in_memory: int | None = None,
        columns: Sequence[str] | None = None,
        max_vec_sizes: Mapping[str, int] | None = None,
        vec_padding: float = 0,
        target: str | Sequence[str] | None = None,
        weights: str = "",
        shuffle: bool | str = True,
        drop_remainder: bool = True,
        set_seed: int = 0,
        load_eager: bool = False,
        sampling_type: str = "",
        sampling_ratio: float = 1.0,
        replacement: bool = False,
        *,
        dtypes: Mapping[str, Any] | None = None,
        normalize: str | Mapping[str, str | None] | Normalization | None = None,
        class_weights: str | Mapping[int, float] | None = None,
        reweight: Mapping[str, Any] | None = None,
        collections: Mapping[str, tuple[Sequence[str], int]] | None = None,
        collections_layout: str = "padded",
        sort_by: Mapping[str, str] | None = None,
        validation_split: float | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        read_threads: int = 2,
        cache_dir: str | os.PathLike | None = None,
        resample_by: str = "dataframe",
        progress: bool = True,
    ) -> None:
        options = LoaderOptions(
            batch_size=batch_size, batches_in_memory=batches_in_memory, columns=columns, max_vec_sizes=max_vec_sizes,
            vec_padding=vec_padding, target=target, weights=weights, shuffle=shuffle, drop_remainder=drop_remainder,
            set_seed=set_seed, load_eager=load_eager, sampling_type=sampling_type, sampling_ratio=sampling_ratio,
            replacement=replacement, dtypes=dtypes, normalize=normalize, class_weights=class_weights, reweight=reweight,
            collections=collections, collections_layout=collections_layout, sort_by=sort_by, rank=rank,
            world_size=world_size, read_threads=read_threads, cache_dir=cache_dir, resample_by=resample_by,
            progress=progress,
        )  # fmt: skip
        self._spec: LoaderSpec = build_spec(rdataframes, options)
        checked_options(self._spec)
        self._engine: Engine | None = None
        self._split = _TRAIN
        self._is_split = False

    @classmethod
    def _view(cls, parent: RDataLoader, split: int) -> RDataLoader:
        view = super().__new__(cls)
        view._spec = parent._spec
        view._engine = parent._engine
        view._split = split
        view._is_split = True
        return view

    def _ensure_engine(self, split: SplitSpec = SplitSpec()) -> Engine:
        if self._engine is None:
            self._engine = Engine(self._spec, split)
            if self._engine.num_entries(_TRAIN) + self._engine.num_entries(_VALIDATION) == 0:
                warnings.warn(
                    "RDataLoader: the dataset has no entries (after filters); every epoch will be empty",
                    stacklevel=3,
                )
        return self._engine

    def _engine_and_split(self) -> tuple[Engine, int]:
        return self._ensure_engine(), self._split

    def train_test_split(
        self,
        test_size: float | None = None,
        *,
        validation_split: float | None = None,
        split_key: str | None = None,
        n_folds: int | None = None,
        fold: int | None = None,
    ) -> tuple[RDataLoader, RDataLoader]:
        """Split the entries into a training and a validation loader.

        The two are disjoint and fixed for the life of the loader. By default the validation
        fraction is exact to one entry, its entries drawn from the seed in reading units
        (clusters, or parts of them for a dataframe of fewer than 32) all over the dataset. With
        ``split_key``, each entry's split depends on the value
        of that integer column alone (an event number), whatever the files, clusters or seed: the
        same events validate in every run, tool and file layout.

        Parameters
        ----------
        test_size : float
            Fraction of the entries for validation, in (0, 1). ``validation_split`` is a synonym.
            With ``split_key``, an entry validates when a hash of its key falls below it, so the
            fraction holds up to binomial fluctuation.
        split_key : str, optional
            Integer column deciding each entry's split, such as ``"event"``.
        n_folds, fold : int, optional
            With ``split_key`` instead of ``test_size``: validation is fold ``fold`` of ``n_folds``,
            the entries with ``key % n_folds == fold`` (``n_folds=2``: even and odd events).

        Returns
        -------
        (train, validation) : tuple of RDataLoader

        Examples
        --------
        >>> train, val = loader.train_test_split(split_key="event", n_folds=2, fold=1)  # odd events validate
        """
        if test_size is not None and validation_split is not None:
            raise TypeError("train_test_split takes test_size or its synonym validation_split, not both")
        fraction = test_size if test_size is not None else validation_split
        if fraction is None and n_folds is None and fold is None:
            raise TypeError("train_test_split needs test_size (or, with split_key, n_folds and fold)")
        split = build_split(self._spec, fraction, split_key, n_folds, fold)
        if self._is_split:
            raise RuntimeError("this loader is already one side of a split; split the original loader instead")
        if self._engine is not None:
            if self._engine.split != split:
                raise RuntimeError(
                    f"this loader already started with {self._engine.split.describe()}; "
                    "create a new RDataLoader for another split"
                )
        else:
            self._ensure_engine(split)
        return RDataLoader._view(self, _TRAIN), RDataLoader._view(self, _VALIDATION)

    # Outputs --------------------------------------------------------------------------------------

    def as_numpy(self) -> Batches:
        """Batches as NumPy arrays: ``x``, or ``(x, y)``, or ``(x, y, w)``, wrapping the batch
        memory without a copy. Each ``iter()`` is one epoch; ``len()`` is the number of batches."""
        from ._connect.numpy import to_numpy

        self._ensure_engine()
        return Batches(self, to_numpy, "NumPy")

    def as_torch(self, device=None) -> Batches:
        """Batches as ``torch.Tensor``s sharing memory with the batch (no copy on the CPU).

        With ``device`` (e.g. ``"cuda"``), batches are staged in pinned memory and copied
        asynchronously, overlapping with the loading of the next batch. The result is a
        ``torch.utils.data.IterableDataset`` of batches: ``torch.utils.data.DataLoader(train.as_torch(),
        batch_size=None, num_workers=N)`` shares each epoch among N worker processes."""
        from ._connect.torch import TorchBatches, make_converter

        self._ensure_engine().compile_epochs()
        return TorchBatches(self, make_converter(device), "torch")

    def as_torch_dataloader(self, device=None):
        """``as_torch(device)`` wrapped in a ``torch.utils.data.DataLoader``, for code that requires one:
        ``model.fit(train.as_torch_dataloader())`` with Keras 3 on the torch backend, for example."""
        from ._connect.torch import make_dataloader

        return make_dataloader(self.as_torch(device))

    def as_tensorflow(self):
        """A ``tf.data.Dataset``; every iteration (every Keras epoch) is a fresh, reshuffled epoch."""
        from ._connect.tensorflow import make_dataset

        return make_dataset(self, self._ensure_engine().layout)

    def as_jax(self) -> Batches:
        """Batches as ``jax.Array``s, through DLPack (no copy where JAX allows it)."""
        from ._connect.jax import to_jax

        self._ensure_engine()
        return Batches(self, to_jax, "JAX")

    AsNumpy = as_numpy
    AsTorch = as_torch
    AsTensorFlow = as_tensorflow

    # Properties -----------------------------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        """All columns as they appear in the tensors (vector columns as ``name_0 ... name_{n-1}``)."""
        return self._spec.flat_names(self._spec.columns)

    @property
    def train_columns(self) -> list[str]:
        """Feature columns, as they appear in ``x``."""
        return self._spec.flat_names(self._spec.features)

    @property
    def collections(self) -> dict[str, tuple[list[str], int]]:
        """Each collection's fields and ``max_len``, as given (empty without collections)."""
        return {c.name: (list(c.fields), c.max_len) for c in self._spec.collections}

    @property
    def target_columns(self) -> list[str]:
        return list(self._spec.targets)

    @property
    def weights_column(self) -> str:
        return self._spec.weights

    @property
    def normalization(self) -> Normalization | None:
        """The fitted feature normalisation (a table; ``.save(path)`` writes it as JSON), or None."""
        return self._ensure_engine().normalization

    @property
    def resampled_classes(self) -> dict[int, tuple[int, int]]:
        """With ``sampling_type``: for each dataframe (0 or 1; with ``resample_by="target"``, each class
        label), its entries in this split and the entries of it that every epoch of this split
        delivers. Empty for a split that is not resampled (validation, by target)."""
        return self._ensure_engine().resampled_classes(self._split)

    @property
    def reweighting(self) -> Reweighting | None:
        """The fitted ``reweight`` table: per class label, the weight of each bin; None without ``reweight``."""
        return self._ensure_engine().reweighting

    @property
    def class_weights(self) -> dict[int, float] | None:
        """The weight of each class label, when ``class_weights`` is set."""
        return self._ensure_engine().class_weights

    @property
    def num_batches(self) -> int:
        """Batches per epoch of this split delivered to this process (the same in every rank)."""
        return self._ensure_engine().num_batches(self._split)

    @property
    def num_entries(self) -> int:
        """Entries per epoch of this split read by this process, its shard with ``world_size > 1``
        (including a remainder that ``drop_remainder`` drops)."""
        return self._ensure_engine().num_entries(self._split)

    @property
    def rank(self) -> int:
        """The shard this process reads, in ``[0, world_size)``."""
        return self._spec.rank

    @property
    def world_size(self) -> int:
        """The number of processes that share each epoch."""
        return self._spec.world_size

    @property
    def last_batch_no_of_rows(self) -> int:
        """Rows of the last, incomplete batch, or that it would hold when ``drop_remainder`` drops it (as in
        ROOT's loader); 0 if every batch is full."""
        if self._spec.drop_remainder:
            return self.num_entries % self._spec.batch_size
        return self._ensure_engine().last_batch_size(self._split)

    def stats(self) -> dict:
        """What the last (or running) epoch of this split did.

        Keys: ``entries``, ``batches``, ``seconds``, ``seconds_to_first_batch``,
        ``seconds_waiting`` (time the consumer waited for batches), ``bytes_read`` (by the whole
        process during the epoch), ``entries_from_sources`` (entries read straight from the files
        rather than by RDataFrame's event loop), ``read_paths`` (per column, the path that reads it:
        TTree baskets, RNTuple pages, or the event loop and why), ``streams`` (the parts of the epoch
        read side by side into every shuffle window), ``complete``; with a single 0/1 target,
        ``label_mix_r``: the spread of the label fraction across batches relative to a perfect shuffle
        (about 1 is well mixed; ``sqrt(batch_size)`` means every batch holds one class); without
        collections, ``feature_mix_r`` and ``least_mixed_feature``: the same for the worst-mixed
        feature (large when batches follow the order of a column the files are sorted by). A shuffled
        epoch with either above 2 warns once. With collections, ``truncated_objects``: per collection, the objects beyond
        ``max_len`` that the delivered entries lost. With ``shuffle="global"``: ``cache_dir`` and
        ``cache_bytes`` (the piles on disk), and in the epoch that built them
        ``seconds_building_cache``; ``bytes_read`` counts ROOT files only, so it is 0 in the epochs
        that read the piles.
        ``engine_library``: the compiled engine this loader runs, loaded from the engine cache
        (``RDATALOADER_ENGINE_CACHE``), or None where cling compiled the engine in this process;
        ``header_module``: the engine's header precompiled in that cache, which this process imported
        instead of parsing the header (half a second of start-up), or None.
        """
        return self._ensure_engine().stats(self._split)

    def state_dict(self) -> dict:
        """Where this loader stands, as a plain dict that ``json.dumps`` can write.

        It holds the seed, the epochs started per split, the batches already delivered by the epoch
        that is running (if any), and what identifies the options and the dataset. The train and
        validation views of a loader share one state. In distributed training every rank is at the
        same position, so the state of rank 0 restores every rank.
        """
        return _state.state_dict(self._spec, self._ensure_engine())

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a ``state_dict()``, in this process or another one.

        The next iteration then delivers, bit for bit, the batches the saved run would have delivered
        next: the rest of the epoch that was running, then the following epochs. A loader created with
        ``set_seed=0`` takes the saved seed. Split this loader (``train_test_split``) as the saved one
        was before loading. Raises ``ValueError`` if the state comes from a loader with other options
        or another dataset, or if an epoch was saved while running with another ``world_size``.
        """
        _state.load_state_dict(self._spec, self._ensure_engine(), state)

    def save(self, path: str | os.PathLike, *, name: str = "events", format: str = "rntuple",
             overwrite: bool = False) -> Path:
        """Write this split's next epoch, entry by entry as it delivers them, as a dataset of its own.

        The file holds the features, targets and weights as the batches hold them: after the Filters, the
        Defines, the split, resampling and normalisation, vector columns as vectors of their ``max_vec_sizes``
        values, in the epoch's order (shuffled, if the loader shuffles), and without the remainder that
        ``drop_remainder`` drops. ``rdataloader.saved_record(path)["loader_options"]`` are the keyword arguments
        with which a loader over it (``shuffle=False``, the same ``batch_size``) delivers the same batches, bit
        for bit, on the fast path. The epoch counts as one of this split's epochs.

        Parameters
        ----------
        path : str or os.PathLike
            The ROOT file to write; it is complete when this returns (an interrupted save leaves none).
        name : str
            The name of the RNTuple or TTree in the file.
        format : {"rntuple", "ttree"}
            RNTuple, or a TTree of scalar and ``std::vector`` branches.
        overwrite : bool
            Replace an existing file; otherwise an existing ``path`` raises ``FileExistsError``.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from ._save import save

        return save(self, path, name, format, overwrite)

    def close(self) -> None:
        """Stop the loading thread and free its batches (batches already handed out stay valid)."""
        if self._engine is not None:
            self._engine.close()

    def __bool__(self) -> bool:
        return True  # not len(): a loader is no sequence (see __len__)

    def __len__(self) -> int:
        # torch.utils.data.DataLoader(loader) would take the loader for a dataset of entries.
        raise TypeError(
            "an RDataLoader is not a dataset of entries: for torch.utils.data.DataLoader wrap loader.as_torch() "
            "(an IterableDataset of batches) with batch_size=None; len() is that of loader.as_numpy() or "
            "loader.as_torch() (batches per epoch), also loader.num_batches"
        )

    def __reduce_ex__(self, protocol):
        # pickle, copy and deepcopy all come here; a copy of the cppyy objects would crash the interpreter.
        raise TypeError(
            "an RDataLoader cannot be pickled or copied: it holds RDataFrames and a C++ engine (open files, a "
            "loading thread) that exist only in this process. Create the loader in the process that uses it (with "
            "the same set_seed in every process for identical epochs); for torch.utils.data.DataLoader workers, "
            "pass loader.as_torch() with num_workers=N and the default 'fork' start method: each worker then "
            "reads its own share of every epoch"
        )

    def __enter__(self) -> RDataLoader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        spec = self._spec
        parts = [f"{len(spec.nodes)} dataframe{'s' if len(spec.nodes) > 1 else ''}"]
        if self._engine is not None:
            split = ("train", "validation")[self._split] if self._is_split else "all"
            parts.append(f"{self.num_entries} entries ({split})")
            parts.append(f"{self.num_batches} batches of {spec.batch_size}")
        else:
            parts.append(f"batch_size={spec.batch_size}")
        parts.append(f"{len(self.train_columns)} features")
        if spec.collections:
            layout = "packed" if spec.collections[0].packed else "padded"
            parts.append(f"collections={[c.name for c in spec.collections]} ({layout})")
        if spec.targets:
            parts.append(f"target={spec.targets if len(spec.targets) > 1 else spec.targets[0]!r}")
        if spec.weights:
            parts.append(f"weights={spec.weights!r}")
        parts.append(f"shuffle={'global' if spec.global_shuffle else spec.shuffle}")
        if spec.world_size > 1:
            parts.append(f"rank {spec.rank} of {spec.world_size}")
        return f"RDataLoader({', '.join(parts)})"
