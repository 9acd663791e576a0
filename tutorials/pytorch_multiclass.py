"""Multiclass classification with PyTorch on ``ROOT.ML.RDataLoader`` batches.

Port of TMVA's ``tutorials/machine_learning/pytorch/MulticlassPyTorch.py`` and of the application
step of ``TMVAMulticlassApplication.C``: four classes (a signal and three backgrounds, one tree
each), integer class labels straight from the loader, per-class probabilities written back into
the trees with RDataFrame.

    python pytorch_multiclass.py [--input tmva_multiclass_example.root] [--fast] [--output-dir DIR]
"""

import numpy as np
import torch

import ROOT

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "tmva_multiclass_example.root")
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
NUM_EPOCHS = 6 if args.fast else 20
VALIDATION_SIZE = 0.2
LEARNING_RATE = 0.01
LR_MILESTONES = [NUM_EPOCHS // 2]
TRIES_EARLY_STOPPING = 5
MODEL_FILE = args.output_dir / "trained_model_multiclass.pt"
VARIABLES = ["var1", "var2", "var3", "var4"]  # DataLoader::AddVariable
CLASSES = {"TreeS": "Signal", "TreeB0": "Background_0", "TreeB1": "Background_1", "TreeB2": "Background_2"}
TEST = "rdfentry_ % 3 == 2"  # PrepareTrainingAndTestTree: every third entry is for testing

# 1. Data. DataLoader::AddTree(tree, className): one dataframe per class, its index as a column.
#    dtypes={"label": "int64"} delivers the labels as a 1-D integer tensor, as CrossEntropyLoss wants.
dataframes = [ROOT.RDataFrame(tree, args.input).Define("label", str(i)) for i, tree in enumerate(CLASSES)]
loader = ROOT.ML.RDataLoader(
    [df.Filter(f"!({TEST})") for df in dataframes],
    batch_size=BATCH_SIZE,
    columns=VARIABLES + ["label"],
    target="label",
    dtypes={"label": "int64"},
    set_seed=1,
)
train, validation = loader.train_test_split(VALIDATION_SIZE)
print(train, validation, sep="\n")

# 2. VarTransform=D,G: the decorrelation "D" from the training split, as a fixed first layer of the
#    model ("G" has no counterpart; see the README).
shift, matrix = helpers.feature_statistics(train.as_numpy()).transform("D")


def make_model(shift=np.zeros(4), matrix=np.eye(4)):
    """TMVA's model: 4 -> 32 (ReLU) -> 4 logits (the softmax is in the loss and the application)."""
    return torch.nn.Sequential(
        helpers.torch_affine(shift, matrix), torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)
    )


# 3. Training (TrainAllMethods).
model = make_model(shift, matrix)
loss_fn = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=LR_MILESTONES, gamma=0.5)
best_loss, epochs_without_improvement = float("inf"), 0
for epoch in range(NUM_EPOCHS):
    model.train()
    for x, label in train.as_torch():
        optimizer.zero_grad()
        loss_fn(model(x), label).backward()
        optimizer.step()
    scheduler.step()

    model.eval()
    with torch.no_grad():
        validation_loss = np.mean([loss_fn(model(x), label).item() for x, label in validation.as_torch()])
    print(f"epoch {epoch + 1}: validation loss {validation_loss:.4f}")
    if validation_loss < best_loss:  # SaveBestOnly
        best_loss, epochs_without_improvement = validation_loss, 0
        torch.save(model.state_dict(), MODEL_FILE)
    else:
        epochs_without_improvement += 1
        if epochs_without_improvement == TRIES_EARLY_STOPPING:
            print("no improvement: early stop")
            break

# 4. Application (TMVA::Reader::EvaluateMulticlass): reload the model, compute the four class
#    probabilities of every entry of every tree, and write the trees back with them.
model = make_model()
model.load_state_dict(torch.load(MODEL_FILE))
model.eval()
scored_file = str(args.output_dir / "tmva_multiclass_example_scored.root")
probability_columns = [f"prob_{name}" for name in CLASSES.values()]
for i, tree in enumerate(CLASSES):
    df = ROOT.RDataFrame(tree, args.input)
    reader = ROOT.ML.RDataLoader(df, batch_size=1024, columns=VARIABLES, shuffle=False, drop_remainder=False)
    with torch.no_grad():
        probabilities = torch.cat([torch.softmax(model(x), dim=1) for x in reader.as_torch()]).numpy()
    options = ROOT.RDF.RSnapshotOptions()
    options.fMode = "UPDATE" if i else "RECREATE"
    helpers.define_from_numpy(df, probability_columns, probabilities).Snapshot(tree, scored_file, "", options)
print(f"probabilities written to {scored_file}")

# 5. Evaluation on the test entries, read from the new file: accuracy and confusion matrix.
accuracy = helpers.evaluate_multiclass(scored_file, CLASSES, TEST, probability_columns,
                                       args.output_dir / "pytorch_multiclass.png")

print(f"result: test accuracy = {accuracy:.4f}")
assert accuracy > 0.6, "four classes: chance is 0.25, a trained classifier reaches about 0.75"
