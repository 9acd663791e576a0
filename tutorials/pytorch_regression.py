"""Regression with PyTorch on ``ROOT.ML.RDataLoader`` batches.

Port of TMVA's ``tutorials/machine_learning/pytorch/RegressionPyTorch.py`` (training) and
``ApplicationRegressionPyTorch.py`` (application): learn ``fvalue`` from ``var1`` and ``var2``,
write the predictions back into the tree with RDataFrame, and measure the residuals there.

    python pytorch_regression.py [--input tmva_reg_example.root] [--fast] [--output-dir DIR]
"""

import numpy as np
import torch

import ROOT

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "tmva_reg_example.root")
torch.manual_seed(1)

# The options of TMVA's PyTorch method and their native equivalents:
#   BatchSize=32             RDataLoader(batch_size=32)
#   NumEpochs=40             the epoch loop in step 3
#   ValidationSize=20%       loader.train_test_split(0.2)
#   LearningRateSchedule     torch.optim.lr_scheduler.MultiStepLR: halve the rate at 1/2 and 3/4
#   TriesEarlyStopping=8     stop after 8 epochs without a better validation loss
#   SaveBestOnly             save the weights whenever the validation loss improves
#   FilenameTrainedModel     torch.save(model.state_dict(), MODEL_FILE)
#   FilenameModel            not needed: the model is built in Python
#   VarTransform=D,G         fixed layers from the training split's statistics (step 2)
#   the other options        ContinueTraining, Verbose, NumThreads...: see README.md
BATCH_SIZE = 32
NUM_EPOCHS = 8 if args.fast else 40
VALIDATION_SIZE = 0.2
LEARNING_RATE = 0.01
LR_MILESTONES = [NUM_EPOCHS // 2, 3 * NUM_EPOCHS // 4]
TRIES_EARLY_STOPPING = 8
MODEL_FILE = args.output_dir / "trained_model_regression.pt"
VARIABLES, TARGET = ["var1", "var2"], "fvalue"  # DataLoader::AddVariable, DataLoader::AddTarget
TEST = "rdfentry_ % 3 == 2"  # PrepareTrainingAndTestTree: every third entry is for testing

# 1. Data (AddRegressionTree): the target is a column like the variables.
df = ROOT.RDataFrame("TreeR", args.input)
loader = ROOT.ML.RDataLoader(
    df.Filter(f"!({TEST})"), batch_size=BATCH_SIZE, columns=VARIABLES + [TARGET], target=TARGET, set_seed=1
)
train, validation = loader.train_test_split(VALIDATION_SIZE)
print(train, validation, sep="\n")

# 2. VarTransform=D,G: the decorrelation "D" for the inputs ("G" has no counterpart; see the
#    README) and a standardised target, from the training split only. Both are fixed layers of the
#    model, which therefore reads and predicts physical values.
shift, matrix = helpers.feature_statistics(train.as_numpy()).transform("D")
target_stats = helpers.feature_statistics(y for _, y in train.as_numpy())
target_mean, target_std = target_stats.mean, np.sqrt(np.diag(target_stats.covariance))


def make_model(shift=np.zeros(2), matrix=np.eye(2), target_mean=np.zeros(1), target_std=np.ones(1)):
    """TMVA's model, 2 -> 64 (tanh) -> 1, between the input transformation and the target scaling."""
    return torch.nn.Sequential(
        helpers.torch_affine(shift, matrix),
        torch.nn.Linear(2, 64),
        torch.nn.Tanh(),
        torch.nn.Linear(64, 1),
        helpers.torch_affine(-target_mean / target_std, np.diag(target_std)),  # y = out * std + mean
    )


def loss_fn(prediction, y):
    """Mean squared error in units of the target variance: the learning rate does not depend on
    the target's scale."""
    return torch.nn.functional.mse_loss(prediction, y) / float(target_std[0] ** 2)


# 3. Training (TrainAllMethods).
model = make_model(shift, matrix, target_mean, target_std)
optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)
scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=LR_MILESTONES, gamma=0.5)
best_loss, epochs_without_improvement = float("inf"), 0
for epoch in range(NUM_EPOCHS):
    model.train()
    for x, y in train.as_torch():
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    scheduler.step()

    model.eval()
    with torch.no_grad():
        validation_loss = np.mean([loss_fn(model(x), y).item() for x, y in validation.as_torch()])
    print(f"epoch {epoch + 1}: validation loss {validation_loss:.5f}")
    if validation_loss < best_loss:  # SaveBestOnly
        best_loss, epochs_without_improvement = validation_loss, 0
        torch.save(model.state_dict(), MODEL_FILE)
    else:
        epochs_without_improvement += 1
        if epochs_without_improvement == TRIES_EARLY_STOPPING:
            print("no improvement: early stop")
            break

# 4. Application (TMVA::Reader): reload the model, predict every entry in entry order, and write
#    the tree back with the prediction as a new column.
model = make_model()
model.load_state_dict(torch.load(MODEL_FILE))
model.eval()
reader = ROOT.ML.RDataLoader(df, batch_size=1024, columns=VARIABLES, shuffle=False, drop_remainder=False)
with torch.no_grad():
    predictions = torch.cat([model(x) for x in reader.as_torch()]).numpy()
scored_file = str(args.output_dir / "tmva_reg_example_scored.root")
helpers.define_from_numpy(df, "fvalue_predicted", predictions).Snapshot("TreeR", scored_file)
print(f"predictions written to {scored_file}")

# 5. Evaluation (TestAllMethods/EvaluateAllMethods) on the test entries, read from the new file.
relative_rms = helpers.evaluate_regression(scored_file, "TreeR", TARGET, "fvalue_predicted", TEST,
                                           args.output_dir / "pytorch_regression.png")

print(f"result: test RMS residual / std(fvalue) = {relative_rms:.4f}")
assert relative_rms < 0.1, "the regression should explain most of the variance (a loader mixing up rows gives 1)"
