"""Regression with Keras on ``ROOT.ML.RDataLoader`` batches.

Port of TMVA's ``tutorials/machine_learning/keras/RegressionKeras.py`` (training) and
``ApplicationRegressionKeras.py`` (application): learn ``fvalue`` from ``var1`` and ``var2`` with
``model.fit`` on the loader's ``tf.data.Dataset``, write the predictions back into the tree with
RDataFrame, and measure the residuals there.

    python keras_regression.py [--input tmva_reg_example.root] [--fast] [--output-dir DIR]
"""

import numpy as np

import ROOT  # before TensorFlow, as ROOT's own TensorFlow tutorial advises

import keras

import tutorial_helpers as helpers

args = helpers.arguments(__doc__, "tmva_reg_example.root")
keras.utils.set_random_seed(1)

# The options of TMVA's PyKeras method and their native equivalents:
#   BatchSize=32             RDataLoader(batch_size=32)
#   NumEpochs=40             model.fit(epochs=40)
#   ValidationSize=20%       loader.train_test_split(0.2)
#   LearningRateSchedule     keras.callbacks.LearningRateScheduler with {epoch: rate}
#   TriesEarlyStopping=8     keras.callbacks.EarlyStopping(patience=8)
#   SaveBestOnly             keras.callbacks.ModelCheckpoint(save_best_only=True)
#   FilenameTrainedModel     the checkpoint's file, MODEL_FILE
#   FilenameModel            not needed: the model is built in Python
#   VarTransform=D,G         fixed layers from the training split's statistics (step 2)
#   the other options        ContinueTraining, Verbose, NumThreads...: see README.md
BATCH_SIZE = 32
NUM_EPOCHS = 8 if args.fast else 40
VALIDATION_SIZE = 0.2
LEARNING_RATE = 0.05
LEARNING_RATE_SCHEDULE = {NUM_EPOCHS // 2: 0.01, 3 * NUM_EPOCHS // 4: 0.005}  # "20,0.01;30,0.005"
TRIES_EARLY_STOPPING = 8
MODEL_FILE = args.output_dir / "trained_model_regression.keras"
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
#    README) and the target's scale, from the training split only. Both are fixed layers of the
#    model, which therefore reads and predicts physical values.
shift, matrix = helpers.feature_statistics(train.as_numpy()).transform("D")
target_stats = helpers.feature_statistics(y for _, y in train.as_numpy())
target_mean, target_std = target_stats.mean, np.sqrt(np.diag(target_stats.covariance))

# 3. The model of RegressionKeras.py, 2 -> 64 (tanh) -> 1, between the two fixed layers. The loss
#    weight puts the mean squared error in units of the target variance, so that the learning rate
#    does not depend on the target's scale.
model = keras.Sequential([
    keras.Input(shape=(2,)),
    helpers.keras_affine(shift, matrix, name="var_transform"),
    keras.layers.Dense(64, activation="tanh"),
    keras.layers.Dense(1),
    helpers.keras_affine(-target_mean / target_std, np.diag(target_std), name="target_scale"),
])
model.compile(loss="mean_squared_error", loss_weights=1 / float(target_std[0] ** 2),
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

# 5. Application (TMVA::Reader): reload the best model, predict every entry in entry order, and
#    write the tree back with the prediction as a new column.
model = keras.models.load_model(MODEL_FILE)
reader = ROOT.ML.RDataLoader(df, batch_size=1024, columns=VARIABLES, shuffle=False, drop_remainder=False)
predictions = model.predict(reader.as_tensorflow(), verbose=0)
scored_file = str(args.output_dir / "tmva_reg_example_scored.root")
helpers.define_from_numpy(df, "fvalue_predicted", predictions).Snapshot("TreeR", scored_file)
print(f"predictions written to {scored_file}")

# 6. Evaluation (TestAllMethods/EvaluateAllMethods) on the test entries, read from the new file.
relative_rms = helpers.evaluate_regression(scored_file, "TreeR", TARGET, "fvalue_predicted", TEST,
                                           args.output_dir / "keras_regression.png")

print(f"result: test RMS residual / std(fvalue) = {relative_rms:.4f}")
assert relative_rms < 0.1, "the regression should explain most of the variance (a loader mixing up rows gives 1)"
