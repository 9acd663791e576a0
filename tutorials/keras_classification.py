"""Signal/background classification with Keras on ``ROOT.ML.RDataLoader`` batches.

Port of TMVA's ``tutorials/machine_learning/keras/ClassificationKeras.py`` (training) and
``ApplicationClassificationKeras.py`` (application). ``model.fit`` reads the loader's
``tf.data.Dataset`` directly, one reshuffled epoch per Keras epoch; TMVA's PyKeras options become
``fit`` arguments and callbacks; the scores go back into the trees with RDataFrame.

    python keras_classification.py [--input tmva_class_example.root] [--fast] [--output-dir DIR]
"""

import numpy as np

import ROOT  # before TensorFlow, as ROOT's own TensorFlow tutorial advises

import keras

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "tmva_class_example.root")
keras.utils.set_random_seed(1)

# The options of TMVA's PyKeras method and their native equivalents:
#   BatchSize=32             RDataLoader(batch_size=32)
#   NumEpochs=20             model.fit(epochs=20)
#   ValidationSize=20%       loader.train_test_split(0.2)
#   LearningRateSchedule     keras.callbacks.LearningRateScheduler with {epoch: rate}
#   TriesEarlyStopping=5     keras.callbacks.EarlyStopping(patience=5)
#   SaveBestOnly             keras.callbacks.ModelCheckpoint(save_best_only=True)
#   FilenameTrainedModel     the checkpoint's file, MODEL_FILE
#   FilenameModel            not needed: the model is built in Python
#   VarTransform=D,G         a fixed first layer from the training split's statistics (step 2)
#   the other options        ContinueTraining, Verbose, NumThreads...: see README.md
BATCH_SIZE = 32
NUM_EPOCHS = 4 if args.fast else 20
VALIDATION_SIZE = 0.2
LEARNING_RATE = 0.01
LEARNING_RATE_SCHEDULE = {NUM_EPOCHS // 2: 0.005}  # TMVA's "10,0.005" for 20 epochs
TRIES_EARLY_STOPPING = 5
MODEL_FILE = args.output_dir / "trained_model_classification.keras"
VARIABLES = ["var1", "var2", "var3", "var4"]  # DataLoader::AddVariable
TEST = "rdfentry_ % 3 == 2"  # PrepareTrainingAndTestTree: every third entry is for testing

# 1. Data. AddSignalTree/AddBackgroundTree: one dataframe per class, with its label as a column;
#    Set{Signal,Background}WeightExpression: an "event_weight" column in each. With weights, the
#    dataset yields (x, y, w), which Keras takes as sample weights.
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

# 3. The model of ClassificationKeras.py (one sigmoid output instead of two softmax ones).
model = keras.Sequential([
    keras.Input(shape=(4,)),
    helpers.keras_affine(shift, matrix, name="var_transform"),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=0.9),
              weighted_metrics=["accuracy"])
model.summary()

# 4. Training (TrainAllMethods): fit on the datasets; no repeat() or steps_per_epoch needed.
model.fit(
    train.as_tensorflow(),
    validation_data=validation.as_tensorflow(),
    epochs=NUM_EPOCHS,
    shuffle=False,  # the loader shuffles; Keras warns that it cannot shuffle a tf.data.Dataset
    verbose=2,
    callbacks=[
        keras.callbacks.ModelCheckpoint(MODEL_FILE, monitor="val_loss", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=TRIES_EARLY_STOPPING),
        keras.callbacks.LearningRateScheduler(lambda epoch, rate: LEARNING_RATE_SCHEDULE.get(epoch, rate)),
    ],
)

# 5. Application (TMVA::Reader + BookMVA): reload the best model, score every entry of both trees
#    in entry order (shuffle=False) and write the trees back with the score as a new column.
model = keras.models.load_model(MODEL_FILE)
scored_file = str(args.output_dir / "tmva_class_example_scored.root")
for tree in ("TreeS", "TreeB"):
    df = ROOT.RDataFrame(tree, args.input)
    reader = ROOT.ML.RDataLoader(df, batch_size=1024, columns=VARIABLES, shuffle=False, drop_remainder=False)
    scores = model.predict(reader.as_tensorflow(), verbose=0)
    options = ROOT.RDF.RSnapshotOptions()
    options.fMode = "RECREATE" if tree == "TreeS" else "UPDATE"
    helpers.define_from_numpy(df, "score", scores).Snapshot(tree, scored_file, "", options)
print(f"scores written to {scored_file}")

# 6. Evaluation (TestAllMethods/EvaluateAllMethods) on the test entries, read from the new file.
test_s = ROOT.RDataFrame("TreeS", scored_file).Filter(TEST).AsNumpy(["score"])
test_b = ROOT.RDataFrame("TreeB", scored_file).Filter(TEST).AsNumpy(["score", "weight"])
scores = np.concatenate([test_s["score"], test_b["score"]])
labels = np.r_[np.ones(len(test_s["score"])), np.zeros(len(test_b["score"]))]
weights = np.r_[np.ones(len(test_s["score"])), test_b["weight"]]
auc = helpers.roc_auc(scores, labels, weights)
helpers.plot_classifiers(args.output_dir / "keras_classification.png", {"Keras": (scores, labels, weights)})

print(f"result: test ROC AUC = {auc:.4f}")
assert auc > 0.8, "the classifier should separate the classes well (a loader mixing up rows gives 0.5)"
