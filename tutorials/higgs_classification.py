"""Higgs classification: the same dense network trained with Keras and with PyTorch.

Port of TMVA's ``tutorials/machine_learning/TMVA_Higgs_Classification.py`` (and ``.C``) to
``ROOT.ML.RDataLoader``: signal and background trees of the UCI HIGGS layout, the seven
reconstructed masses as inputs, and TMVA's deep network (four dense layers of 64 units) trained
once with ``model.fit`` on ``as_tensorflow()`` and once with a PyTorch loop on ``as_torch()``. The
ROC curves of both, on the test entries, go into one plot. (TMVA's own Likelihood, Fisher and BDT
methods have no loader counterpart and are not ported.)

    python higgs_classification.py [--input Higgs_data.root] [--fast] [--output-dir DIR]
"""

import numpy as np
import torch

import ROOT  # before TensorFlow, as ROOT's own TensorFlow tutorial advises

import keras

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "Higgs_data.root")
keras.utils.set_random_seed(1)
torch.manual_seed(1)

VARIABLES = ["m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb"]  # loader.AddVariable
# PrepareTrainingAndTestTree(nTrain_Signal=7000, nTrain_Background=7000): 70% for training.
TEST = "rdfentry_ % 10 >= 7"
BATCH_SIZE = 100  # PyKeras BatchSize=100
NUM_EPOCHS = 3 if args.fast else 20  # PyKeras NumEpochs=20, DNN MaxEpochs=20
VALIDATION_SIZE = 0.2  # ValidationSize (default 20%)
CONVERGENCE_STEPS = 10  # DNN ConvergenceSteps=10: early stopping patience

# AddSignalTree/AddBackgroundTree: the two trees as two dataframes, with a label column each;
# the loader shuffles them together.
dataframes = {
    "sig_tree": ROOT.RDataFrame("sig_tree", args.input).Define("label", "1.f"),
    "bkg_tree": ROOT.RDataFrame("bkg_tree", args.input).Define("label", "0.f"),
}
loader = ROOT.ML.RDataLoader(
    [df.Filter(f"!({TEST})") for df in dataframes.values()],
    batch_size=BATCH_SIZE,
    columns=VARIABLES + ["label"],
    target="label",
    set_seed=1,
)
train, validation = loader.train_test_split(VALIDATION_SIZE)
print(train, validation, sep="\n")

# VarTransform=G in the DNN booking: here decorrelation and unit variance (TMVA's "D"), from the
# training split only, as the fixed first layer of both networks.
shift, matrix = helpers.feature_statistics(train.as_numpy()).transform("D")
n = len(VARIABLES)

# 1. Keras (the PyKeras booking): Adam, binary cross entropy, one sigmoid output.
keras_model = keras.Sequential(
    [keras.Input(shape=(n,)), helpers.keras_affine(shift, matrix, name="var_transform")]
    + [keras.layers.Dense(64, activation="relu") for _ in range(4)]
    + [keras.layers.Dense(1, activation="sigmoid")]
)
keras_model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                    metrics=["accuracy"])
keras_model.fit(
    train.as_tensorflow(),
    validation_data=validation.as_tensorflow(),
    epochs=NUM_EPOCHS,
    shuffle=False,  # the loader shuffles
    verbose=2,
    callbacks=[keras.callbacks.EarlyStopping(patience=CONVERGENCE_STEPS, restore_best_weights=True)],
)

# 2. PyTorch: the same network (on logits: the sigmoid is in the loss), the same optimiser.
torch_model = torch.nn.Sequential(
    helpers.torch_affine(shift, matrix),
    *[layer for i in range(4) for layer in (torch.nn.Linear(n if i == 0 else 64, 64), torch.nn.ReLU())],
    torch.nn.Linear(64, 1),
)
loss_fn = torch.nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(torch_model.parameters(), lr=1e-3)
best_loss, best_state, epochs_without_improvement = float("inf"), None, 0
for epoch in range(NUM_EPOCHS):
    torch_model.train()
    for x, y in train.as_torch():
        optimizer.zero_grad()
        loss_fn(torch_model(x), y).backward()
        optimizer.step()
    torch_model.eval()
    with torch.no_grad():
        validation_loss = np.mean([loss_fn(torch_model(x), y).item() for x, y in validation.as_torch()])
    print(f"PyTorch epoch {epoch + 1}: validation loss {validation_loss:.4f}")
    if validation_loss < best_loss:  # early stopping, keeping the best weights, as for Keras
        best_loss, epochs_without_improvement = validation_loss, 0
        best_state = {name: value.clone() for name, value in torch_model.state_dict().items()}
    else:
        epochs_without_improvement += 1
        if epochs_without_improvement == CONVERGENCE_STEPS:
            break
torch_model.load_state_dict(best_state)
torch_model.eval()

# 3. TestAllMethods/EvaluateAllMethods: both networks score the test entries of both trees, read
#    in entry order by an unshuffled loader.
results = {"Keras": [], "PyTorch": []}
for tree, label in (("sig_tree", 1), ("bkg_tree", 0)):
    reader = ROOT.ML.RDataLoader(dataframes[tree].Filter(TEST), batch_size=1000, columns=VARIABLES, shuffle=False,
                                 drop_remainder=False)
    keras_scores = keras_model.predict(reader.as_tensorflow(), verbose=0).ravel()
    with torch.no_grad():
        torch_scores = torch.cat([torch.sigmoid(torch_model(x)) for x in reader.as_torch()]).numpy().ravel()
    for name, scores in (("Keras", keras_scores), ("PyTorch", torch_scores)):
        results[name].append((scores, np.full(len(scores), label)))

curves = {}
for name, parts in results.items():
    scores, labels = (np.concatenate(p) for p in zip(*parts))
    curves[name] = (scores, labels, None)
    print(f"result: {name} test ROC AUC = {helpers.roc_auc(scores, labels):.4f}")
helpers.plot_classifiers(args.output_dir / "higgs_classification_roc.png", curves)

for name, (scores, labels, _) in curves.items():
    assert helpers.roc_auc(scores, labels) > 0.7, f"{name}: the masses separate signal from background"
