"""Multiclass classification with Keras on ``ROOT.ML.RDataLoader`` batches.

Port of TMVA's ``tutorials/machine_learning/keras/MulticlassKeras.py`` and of the application
step of ``TMVAMulticlassApplication.C``: four classes (a signal and three backgrounds, one tree
each), integer class labels straight from the loader into a sparse categorical cross entropy,
per-class probabilities written back into the trees with RDataFrame.

    python keras_multiclass.py [--input tmva_multiclass_example.root] [--fast] [--output-dir DIR]
"""

import ROOT  # before TensorFlow, as ROOT's own TensorFlow tutorial advises

import keras

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "tmva_multiclass_example.root")
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
NUM_EPOCHS = 6 if args.fast else 20
VALIDATION_SIZE = 0.2
LEARNING_RATE = 0.01
LEARNING_RATE_SCHEDULE = {NUM_EPOCHS // 2: 0.005}  # TMVA's "10,0.005" for 20 epochs
TRIES_EARLY_STOPPING = 5
MODEL_FILE = args.output_dir / "trained_model_multiclass.keras"
VARIABLES = ["var1", "var2", "var3", "var4"]  # DataLoader::AddVariable
CLASSES = {"TreeS": "Signal", "TreeB0": "Background_0", "TreeB1": "Background_1", "TreeB2": "Background_2"}
TEST = "rdfentry_ % 3 == 2"  # PrepareTrainingAndTestTree: every third entry is for testing

# 1. Data. DataLoader::AddTree(tree, className): one dataframe per class, its index as a column.
#    dtypes={"label": "int64"} delivers the labels as 1-D integers, as the sparse categorical
#    cross entropy wants (no one-hot encoding).
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

# 3. The model of MulticlassKeras.py: 4 -> 32 (ReLU) -> 4 (softmax), after the fixed transformation.
model = keras.Sequential([
    keras.Input(shape=(4,)),
    helpers.keras_affine(shift, matrix, name="var_transform"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(4, activation="softmax"),
])
model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=0.9))
model.summary()

# 4. Training (TrainAllMethods).
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

# 5. Application (TMVA::Reader::EvaluateMulticlass): reload the model, compute the four class
#    probabilities of every entry of every tree, and write the trees back with them.
model = keras.models.load_model(MODEL_FILE)
scored_file = str(args.output_dir / "tmva_multiclass_example_scored.root")
probability_columns = [f"prob_{name}" for name in CLASSES.values()]
for i, tree in enumerate(CLASSES):
    df = ROOT.RDataFrame(tree, args.input)
    reader = ROOT.ML.RDataLoader(df, batch_size=1024, columns=VARIABLES, shuffle=False, drop_remainder=False)
    probabilities = model.predict(reader.as_tensorflow(), verbose=0)
    options = ROOT.RDF.RSnapshotOptions()
    options.fMode = "UPDATE" if i else "RECREATE"
    helpers.define_from_numpy(df, probability_columns, probabilities).Snapshot(tree, scored_file, "", options)
print(f"probabilities written to {scored_file}")

# 6. Evaluation on the test entries, read from the new file: accuracy and confusion matrix.
accuracy = helpers.evaluate_multiclass(scored_file, CLASSES, TEST, probability_columns,
                                       args.output_dir / "keras_multiclass.png")

print(f"result: test accuracy = {accuracy:.4f}")
assert accuracy > 0.6, "four classes: chance is 0.25, a trained classifier reaches about 0.75"
