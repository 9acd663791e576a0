"""Signal/background classification with PyTorch on ``ROOT.ML.RDataLoader`` batches.

Port of TMVA's ``tutorials/machine_learning/pytorch/ClassificationPyTorch.py`` (training) and
``ApplicationClassificationPyTorch.py`` (application). TMVA's Factory, DataLoader and Reader give
way to the loader, a plain PyTorch training loop and an RDataFrame that writes the scores back: a
ROOT -> model -> ROOT round trip. Every option of TMVA's PyTorch method is mapped below.

    python pytorch_classification.py [--input tmva_class_example.root] [--fast] [--output-dir DIR]
"""

import numpy as np
import torch

import ROOT

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "tmva_class_example.root")
torch.manual_seed(1)

# The options of TMVA's PyTorch method and their native equivalents:
#   BatchSize=32             RDataLoader(batch_size=32)
#   NumEpochs=20             the epoch loop in step 3
#   ValidationSize=20%       loader.train_test_split(0.2)
#   LearningRateSchedule     torch.optim.lr_scheduler.MultiStepLR: halve the rate halfway
#   TriesEarlyStopping=5     stop after 5 epochs without a better validation loss
#   SaveBestOnly             save the weights whenever the validation loss improves
#   FilenameTrainedModel     torch.save(model.state_dict(), MODEL_FILE)
#   FilenameModel            not needed: the model is built in Python
#   VarTransform=D,G         a fixed first layer from the training split's statistics (step 2)
#   the other options        ContinueTraining, Verbose, NumThreads...: see README.md
BATCH_SIZE = 32
NUM_EPOCHS = 4 if args.fast else 20
VALIDATION_SIZE = 0.2
LEARNING_RATE = 0.01
LR_MILESTONES = [NUM_EPOCHS // 2]
TRIES_EARLY_STOPPING = 5
MODEL_FILE = args.output_dir / "trained_model_classification.pt"
VARIABLES = ["var1", "var2", "var3", "var4"]  # DataLoader::AddVariable
# PrepareTrainingAndTestTree: TMVA keeps a test set apart; here every third entry.
TEST = "rdfentry_ % 3 == 2"

# 1. Data. AddSignalTree/AddBackgroundTree: one dataframe per class, with its label as a column.
#    SetSignalWeightExpression/SetBackgroundWeightExpression (TMVAClassification.C weights the
#    background by its "weight" column): a Define per dataframe. Both dataframes are shuffled
#    together into mixed batches.
signal = ROOT.RDataFrame("TreeS", args.input).Define("label", "1.f").Define("event_weight", "1.f")
background = ROOT.RDataFrame("TreeB", args.input).Define("label", "0.f").Define("event_weight", "weight")
loader = ROOT.ML.RDataLoader(
    [df.Filter(f"!({TEST})") for df in (signal, background)],
    batch_size=BATCH_SIZE,
    columns=VARIABLES + ["label", "event_weight"],
    target="label",
    weights="event_weight",
    set_seed=1,
)
train, validation = loader.train_test_split(VALIDATION_SIZE)
print(train, validation, sep="\n")

# 2. VarTransform=D,G: the decorrelation "D" (which also gives unit variances), computed on the
#    training split only and built into the model as a fixed first layer, so that the saved model
#    carries it as TMVA's weight file does. The Gaussianisation "G" has no counterpart (README).
shift, matrix = helpers.feature_statistics(train.as_numpy()).transform("D")


def make_model(shift=np.zeros(4), matrix=np.eye(4)):
    """TMVA's model: 4 -> 64 (ReLU) -> output, after the fixed variable transformation."""
    return torch.nn.Sequential(
        helpers.torch_affine(shift, matrix), torch.nn.Linear(4, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)
    )


def weighted_loss(logits, y, w):
    """Binary cross entropy (on logits, the numerically stable form), weighted per entry."""
    losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (w * losses).sum() / w.sum()


# 3. Training (TrainAllMethods).
model = make_model(shift, matrix)
optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=LR_MILESTONES, gamma=0.5)
best_loss, epochs_without_improvement = float("inf"), 0
for epoch in range(NUM_EPOCHS):
    model.train()
    for x, y, w in train.as_torch():  # each pass is a new, reshuffled epoch
        optimizer.zero_grad()
        weighted_loss(model(x), y, w).backward()
        optimizer.step()
    scheduler.step()

    model.eval()
    with torch.no_grad():
        sums = np.array([[weighted_loss(model(x), y, w).item() * w.sum().item(), w.sum().item()]
                         for x, y, w in validation.as_torch()]).sum(axis=0)
    validation_loss = sums[0] / sums[1]
    print(f"epoch {epoch + 1}: validation loss {validation_loss:.4f}, learning rate {scheduler.get_last_lr()[0]}")
    if validation_loss < best_loss:  # SaveBestOnly: keep the weights of the best epoch
        best_loss, epochs_without_improvement = validation_loss, 0
        torch.save(model.state_dict(), MODEL_FILE)
    else:
        epochs_without_improvement += 1
        if epochs_without_improvement == TRIES_EARLY_STOPPING:
            print("no improvement: early stop")
            break

# 4. Application (TMVA::Reader + BookMVA): reload the trained model from its file, score every
#    entry of both trees in entry order (shuffle=False) and write the trees back with a new column.
model = make_model()
model.load_state_dict(torch.load(MODEL_FILE))
model.eval()
scored_file = str(args.output_dir / "tmva_class_example_scored.root")
for tree in ("TreeS", "TreeB"):
    df = ROOT.RDataFrame(tree, args.input)
    reader = ROOT.ML.RDataLoader(df, batch_size=1024, columns=VARIABLES, shuffle=False, drop_remainder=False)
    with torch.no_grad():
        scores = torch.cat([torch.sigmoid(model(x)) for x in reader.as_torch()]).numpy()
    options = ROOT.RDF.RSnapshotOptions()
    options.fMode = "RECREATE" if tree == "TreeS" else "UPDATE"
    helpers.define_from_numpy(df, "score", scores).Snapshot(tree, scored_file, "", options)
print(f"scores written to {scored_file}")

# 5. Evaluation (TestAllMethods/EvaluateAllMethods) on the test entries, read from the new file.
test_s = ROOT.RDataFrame("TreeS", scored_file).Filter(TEST).AsNumpy(["score"])
test_b = ROOT.RDataFrame("TreeB", scored_file).Filter(TEST).AsNumpy(["score", "weight"])
scores = np.concatenate([test_s["score"], test_b["score"]])
labels = np.r_[np.ones(len(test_s["score"])), np.zeros(len(test_b["score"]))]
weights = np.r_[np.ones(len(test_s["score"])), test_b["weight"]]
auc = helpers.roc_auc(scores, labels, weights)

helpers.plot_classifiers(args.output_dir / "pytorch_classification.png", {"PyTorch": (scores, labels, weights)})

print(f"result: test ROC AUC = {auc:.4f}")
assert auc > 0.8, "the classifier should separate the classes well (a loader mixing up rows gives 0.5)"
